// SentencePiece BPE, the algorithm of llama.cpp's llm_tokenizer_spm (and of
// llama2.c's run.c, which picks the same pairs): start from UTF-8 characters,
// repeatedly merge the adjacent pair with the highest score whose
// concatenation is a token, ties going to the leftmost pair. A priority queue
// with lazy invalidation makes it O(n log n), so whole books encode quickly.
#include <queue>

#include "model/tokenizer_impl.hpp"

namespace sinkstream::model::detail {
namespace {

struct Symbol {
  int32_t prev, next;  // linked list over live symbols; -1 at the ends
  size_t start, len;   // bytes of the text; len == 0 once merged away
};

struct Bigram {
  float score;
  int32_t left, right;
  size_t len;  // bytes of the pair when queued; a mismatch later means it is stale
};

// Highest score first; among equals the leftmost pair.
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

class SpmSession {
 public:
  SpmSession(std::string_view text, const TokenMap& ids, const std::vector<float>& scores)
      : text_(text), ids_(ids), scores_(scores) {}

  void run() {
    split_chars();
    for (int32_t i = 1; i < static_cast<int32_t>(symbols_.size()); ++i) try_add(i - 1, i);
    while (!queue_.empty()) {
      const Bigram b = queue_.top();
      queue_.pop();
      Symbol& l = symbols_[static_cast<size_t>(b.left)];
      Symbol& r = symbols_[static_cast<size_t>(b.right)];
      if (l.len == 0 || r.len == 0 || l.len + r.len != b.len) continue;  // one side already merged
      l.len += r.len;
      r.len = 0;
      l.next = r.next;
      if (r.next >= 0) symbols_[static_cast<size_t>(r.next)].prev = b.left;
      try_add(l.prev, b.left);
      try_add(b.left, l.next);
    }
  }

  const std::vector<Symbol>& symbols() const { return symbols_; }

 private:
  void split_chars() {
    symbols_.reserve(text_.size());
    for (size_t off = 0; off < text_.size();) {
      const size_t n = std::min(utf8_seq_len(static_cast<unsigned char>(text_[off])), text_.size() - off);
      const auto idx = static_cast<int32_t>(symbols_.size());
      symbols_.push_back({idx - 1, off + n == text_.size() ? -1 : idx + 1, off, n});
      off += n;
    }
  }

  void try_add(int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols_[static_cast<size_t>(left)];
    const size_t len = l.len + symbols_[static_cast<size_t>(right)].len;
    const int32_t id = lookup(ids_, text_.substr(l.start, len));
    if (id < 0) return;
    queue_.push({scores_[static_cast<size_t>(id)], left, right, len});
  }

  std::string_view text_;
  const TokenMap& ids_;
  const std::vector<float>& scores_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue_;
};

}  // namespace

void spm_encode(std::string_view text, const TokenMap& ids, const std::vector<float>& scores,
                const std::array<int32_t, 256>& byte_ids, std::vector<int32_t>& out) {
  if (text.empty()) return;
  SpmSession s(text, ids, scores);
  s.run();
  const auto& sym = s.symbols();
  for (int32_t i = 0; i != -1; i = sym[static_cast<size_t>(i)].next) {
    const Symbol& x = sym[static_cast<size_t>(i)];
    const std::string_view piece = text.substr(x.start, x.len);
    const int32_t id = lookup(ids, piece);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    // Only single characters can fail to be tokens (merges always make
    // tokens): spell them as byte tokens, dropping bytes the vocabulary lacks.
    for (char c : piece) {
      const int32_t b = byte_ids[static_cast<unsigned char>(c)];
      if (b >= 0) out.push_back(b);
    }
  }
}

}  // namespace sinkstream::model::detail
