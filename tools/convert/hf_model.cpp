#include "hf_model.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "format/quant_types.hpp"
#include "sinkstream/error.hpp"
#include "testing/synthetic.hpp"

namespace sinkstream::convert {
namespace {

nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) throw InvalidArgument("cannot read '" + p.string() + "'");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument("'" + p.string() + "' is not valid JSON: " + e.what());
  }
}

uint64_t dtype_bytes(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F16" || dtype == "BF16") return 2;
  if (dtype == "U8") return 1;  // gpt-oss's MXFP4 blocks and scales
  return 0;
}

// A safetensors file: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}}, then the data.
void index_safetensors(const model::MappedFile& f, std::map<std::string, HfTensor>& out) {
  const auto bytes = f.bytes();
  const std::string label = "'" + f.path() + "'";
  uint64_t n = 0;
  if (bytes.size() < 8) throw InvalidArgument(label + " is too short for a safetensors file");
  std::memcpy(&n, bytes.data(), 8);
  if (n > bytes.size() - 8) throw InvalidArgument(label + ": the header runs past the end of the file");
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(label + ": the safetensors header is not valid JSON: " + e.what());
  }
  const auto data = bytes.subspan(8 + n);
  for (const auto& [name, t] : h.items()) {
    if (name == "__metadata__") continue;
    HfTensor x;
    x.dtype = t.at("dtype").get<std::string>();
    x.shape = t.at("shape").get<std::vector<uint64_t>>();
    const auto off = t.at("data_offsets").get<std::vector<uint64_t>>();
    uint64_t count = 1;
    for (uint64_t d : x.shape) count *= d;
    if (!dtype_bytes(x.dtype))
      throw InvalidArgument(label + ": tensor '" + name + "' is " + x.dtype + " (F32, F16, BF16 and U8 are converted)");
    if (off.size() != 2 || off[0] > off[1] || off[1] > data.size() || off[1] - off[0] != count * dtype_bytes(x.dtype))
      throw InvalidArgument(label + ": tensor '" + name + "' has data offsets that do not match its shape");
    x.data = data.subspan(off[0], off[1] - off[0]);
    out[name] = x;
  }
}

}  // namespace

HfCheckpoint::HfCheckpoint(const std::string& dir) : dir_(dir) {
  namespace fs = std::filesystem;
  config_ = read_json(fs::path(dir) / "config.json");
  std::vector<fs::path> shards;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".safetensors") shards.push_back(e.path());
  std::sort(shards.begin(), shards.end());
  if (shards.empty()) throw InvalidArgument("'" + dir + "' holds no *.safetensors file");
  for (const auto& p : shards) {
    files_.emplace_back(p.string());
    index_safetensors(files_.back(), tensors_);
  }
}

const HfTensor& HfCheckpoint::tensor(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) throw InvalidArgument("'" + dir_ + "': tensor '" + name + "' is missing");
  return it->second;
}

std::vector<float> HfCheckpoint::floats(const std::string& name) const {
  const HfTensor& t = tensor(name);
  if (t.dtype == "U8") throw InvalidArgument("'" + dir_ + "': tensor '" + name + "' holds bytes (U8), not numbers");
  const uint64_t n = t.data.size() / dtype_bytes(t.dtype);
  std::vector<float> out(n);
  for (uint64_t i = 0; i < n; ++i) {
    if (t.dtype == "F32") {
      std::memcpy(&out[i], t.data.data() + 4 * i, 4);
      continue;
    }
    uint16_t h;
    std::memcpy(&h, t.data.data() + 2 * i, 2);
    if (t.dtype == "F16") {
      out[i] = model::half_to_float(h);
    } else {  // BF16: the high half of a float
      const uint32_t bits = uint32_t{h} << 16;
      std::memcpy(&out[i], &bits, 4);
    }
  }
  return out;
}

namespace {

// A special token's text: tokenizer_config.json writes "<s>" or {"content": "<s>"}.
std::string token_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content")) return v["content"].get<std::string>();
  return {};
}


}  // namespace

void add_tokenizer(model::GgufWriter& w, const HfCheckpoint& ckpt, const std::string& pre,
                   uint32_t vocab_size, bool placeholder) {
  namespace fs = std::filesystem;
  const fs::path dir(ckpt.dir());
  if (!fs::exists(dir / "tokenizer.json")) {
    if (!placeholder)
      throw InvalidArgument("'" + ckpt.dir() + "' has no tokenizer.json (--placeholder-vocab writes numbered tokens)");
    return model::add_placeholder_vocab(w, vocab_size);
  }
  const nlohmann::json tok = read_json(dir / "tokenizer.json");
  const nlohmann::json& m = tok.at("model");
  if (m.value("type", "") != "BPE" || m.value("byte_fallback", false))  // byte fallback: SentencePiece-style
    throw InvalidArgument("'" + ckpt.dir() + "': only byte-level BPE tokenizers (tokenizer.json) are converted");
  std::vector<std::string> tokens(vocab_size);
  std::vector<int32_t> types(vocab_size, 5);  // unused until a piece claims the id
  for (uint32_t i = 0; i < vocab_size; ++i) tokens[i] = "[PAD" + std::to_string(i) + "]";
  const auto put = [&](int64_t id, const std::string& text, int32_t type) {
    if (id < 0 || id >= vocab_size)
      throw InvalidArgument("token id " + std::to_string(id) + " is past the vocab_size " + std::to_string(vocab_size));
    tokens[static_cast<size_t>(id)] = text;
    types[static_cast<size_t>(id)] = type;
  };
  for (const auto& [text, id] : m.at("vocab").items()) put(id.get<int64_t>(), text, 1);
  for (const auto& a : tok.value("added_tokens", nlohmann::json::array()))
    put(a.at("id").get<int64_t>(), a.at("content").get<std::string>(), a.value("special", false) ? 3 : 4);
  std::vector<std::string> merges;
  for (const auto& mg : m.at("merges"))  // "a b", or ["a", "b"] in newer files
    merges.push_back(mg.is_string() ? mg.get<std::string>() : mg[0].get<std::string>() + " " + mg[1].get<std::string>());
  w.add("tokenizer.ggml.model", std::string("gpt2"));
  w.add("tokenizer.ggml.pre", pre);
  w.add("tokenizer.ggml.tokens", tokens);
  w.add("tokenizer.ggml.token_type", types);
  w.add("tokenizer.ggml.merges", merges);
  nlohmann::json tc = fs::exists(dir / "tokenizer_config.json") ? read_json(dir / "tokenizer_config.json")
                                                                 : nlohmann::json::object();
  const auto id_of = [&](const std::string& key) -> int64_t {
    const std::string text = tc.contains(key) ? token_text(tc[key]) : std::string();
    const auto it = std::find(tokens.begin(), tokens.end(), text);
    if (!text.empty() && it != tokens.end()) return it - tokens.begin();
    const auto& c = ckpt.config();
    return c.contains(key + "_id") && c[key + "_id"].is_number_integer() ? c[key + "_id"].get<int64_t>() : -1;
  };
  if (const int64_t bos = id_of("bos_token"); bos >= 0) w.add("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(bos));
  if (const int64_t eos = id_of("eos_token"); eos >= 0) w.add("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(eos));
  if (tc.contains("add_bos_token") && tc["add_bos_token"].is_boolean())
    w.add("tokenizer.ggml.add_bos_token", tc["add_bos_token"].get<bool>());
  if (tc.contains("chat_template") && tc["chat_template"].is_string())
    w.add("tokenizer.chat_template", tc["chat_template"].get<std::string>());
}

}  // namespace sinkstream::convert
