// GGUF reader: real files parse; malformed ones give errors, never crashes.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "fixtures.hpp"
#include "format/gguf.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::test {
namespace {

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A minimal GGUF v3 writer for hand-made edge cases.
struct Builder {
  std::vector<uint8_t> b;
  template <typename T>
  Builder& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof(T));
    return *this;
  }
  Builder& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Builder& header(uint64_t tensors, uint64_t kvs) {
    b.insert(b.end(), {'G', 'G', 'U', 'F'});
    return put<uint32_t>(3).put<uint64_t>(tensors).put<uint64_t>(kvs);
  }
};

}  // namespace

TEST_SUITE("gguf") {
  TEST_CASE("the stories260K fixture parses with its metadata and tensors") {
    REQUIRE_FIXTURE("stories260K.gguf");
    const auto g = model::GgufFile::open(fixture("stories260K.gguf"));
    CHECK(g.version() == 3);
    CHECK(g.get_string("general.architecture") == "llama");
    CHECK(g.get_uint("llama.context_length") == 2048u);
    CHECK(g.get_uint("llama.embedding_length") == 64u);
    REQUIRE(g.get_strings("tokenizer.ggml.tokens") != nullptr);
    CHECK(g.get_strings("tokenizer.ggml.tokens")->size() == 512);
    const auto* emb = g.find_tensor("token_embd.weight");
    REQUIRE(emb != nullptr);
    CHECK(emb->type == model::GgmlType::f32);
    CHECK(emb->dims == std::vector<uint64_t>{64, 512});
    CHECK(emb->data.size() == 64 * 512 * 4);
    CHECK_THROWS_AS(g.get_uint("general.architecture"), Error);  // wrong type is an error, not a guess
  }

  TEST_CASE("every truncation of a real file is rejected cleanly") {
    REQUIRE_FIXTURE("tokenizers/ggml-vocab-gpt-2.gguf");
    const auto bytes = read_all(fixture("stories260K.gguf"));
    for (size_t n : {0ul, 3ul, 4ul, 8ul, 20ul, 24ul, 100ul, 5000ul, bytes.size() / 2, bytes.size() - 1}) {
      std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
      CHECK_THROWS_AS(model::GgufFile::parse(cut, "cut"), Error);
    }
  }

  TEST_CASE("hostile headers: huge counts, bad versions, overflowing shapes and offsets") {
    CHECK_THROWS_WITH(model::GgufFile::parse(Builder().header(0, 1ull << 60).b, "x"),
                      doctest::Contains("impossible metadata count"));
    CHECK_THROWS_WITH(model::GgufFile::parse(Builder().header(1ull << 62, 0).b, "x"),
                      doctest::Contains("impossible tensor count"));
    auto v1 = Builder().header(0, 0);
    v1.b[4] = 1;
    CHECK_THROWS_WITH(model::GgufFile::parse(v1.b, "x"), doctest::Contains("version 1"));
    // A string whose length claims more bytes than the file has.
    CHECK_THROWS_WITH(model::GgufFile::parse(Builder().header(0, 1).put<uint64_t>(1ull << 62).put<uint64_t>(0).b, "x"),
                      doctest::Contains("truncated"));
    // An array of 2^61 u32 values.
    CHECK_THROWS_WITH(
        model::GgufFile::parse(Builder().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(1ull << 61).b, "x"),
        doctest::Contains("impossible array element count"));
    // Tensor shapes whose product overflows, and a tensor past the end of the file.
    auto overflow = Builder().header(1, 0).str("t").put<uint32_t>(2).put<uint64_t>(1ull << 40).put<uint64_t>(1ull << 40);
    overflow.put<uint32_t>(0).put<uint64_t>(0);
    CHECK_THROWS_WITH(model::GgufFile::parse(overflow.b, "x"), doctest::Contains("impossible shape"));
    auto past = Builder().header(1, 0).str("t").put<uint32_t>(1).put<uint64_t>(1024).put<uint32_t>(0).put<uint64_t>(0);
    CHECK_THROWS_WITH(model::GgufFile::parse(past.b, "x"), doctest::Contains("past the end"));
    auto badtype = Builder().header(1, 0).str("t").put<uint32_t>(1).put<uint64_t>(4).put<uint32_t>(99).put<uint64_t>(0);
    CHECK_THROWS_WITH(model::GgufFile::parse(badtype.b, "x"), doctest::Contains("unknown type 99"));
    auto partial = Builder().header(1, 0).str("t").put<uint32_t>(1).put<uint64_t>(33).put<uint32_t>(8).put<uint64_t>(0);
    CHECK_THROWS_WITH(model::GgufFile::parse(partial.b, "x"), doctest::Contains("whole number of blocks"));
    auto dup = Builder().header(0, 2).str("a").put<uint32_t>(4).put<uint32_t>(1).str("a").put<uint32_t>(4).put<uint32_t>(2);
    CHECK_THROWS_WITH(model::GgufFile::parse(dup.b, "x"), doctest::Contains("duplicate metadata key"));
    CHECK_THROWS_WITH(model::GgufFile::open("/nonexistent/model.gguf"), doctest::Contains("cannot open"));
  }

  TEST_CASE("a well-formed hand-made file with an aligned tensor") {
    auto f = Builder().header(1, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(32);
    f.str("w").put<uint32_t>(2).put<uint64_t>(32).put<uint64_t>(2).put<uint32_t>(8).put<uint64_t>(0);
    while (f.b.size() % 32) f.b.push_back(0);
    f.b.resize(f.b.size() + 68, 7);
    const auto g = model::GgufFile::parse(f.b, "hand-made");
    REQUIRE(g.find_tensor("w") != nullptr);
    CHECK(g.find_tensor("w")->data.size() == 68);
    CHECK(g.find_tensor("w")->elements == 64);
  }
}

}  // namespace sinkstream::test
