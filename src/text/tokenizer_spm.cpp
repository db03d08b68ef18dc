// SentencePiece BPE, the algorithm of llama.cpp's llm_tokenizer_spm (and of
// llama2.c's run.c, which picks the same pairs): start from UTF-8 characters,
// repeatedly merge the adjacent pair with the highest score whose
// concatenation is a token, ties going to the leftmost pair. A priority queue
// with lazy invalidation makes it O(n log n).
//
// Words are merged one at a time when the vocabulary allows it: if no token
// contains "▁" right after another character, no merge can ever join a
// symbol to a "▁" that follows a non-"▁" symbol, so the text falls apart at
// those points into pieces whose merges never interact. Each piece then sees
// its merges in the same relative order as in one global queue (same scores,
// same left-to-right tie-break), so the result is identical, while the queue
// stays the size of a word instead of a book (cache misses dominated before).
#include <queue>

#include "text/tokenizer_impl.hpp"

namespace sinkstream::model::detail {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // "▁"

struct Symbol {
  int32_t prev, next;  // linked list over live symbols of one piece; -1 at its ends
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

  void run(bool by_words) {
    split_chars();
    const auto n = static_cast<int32_t>(symbols_.size());
    int32_t begin = 0;
    for (int32_t i = 1; i <= n; ++i) {
      if (i < n && !(by_words && starts_word(i))) continue;
      symbols_[static_cast<size_t>(begin)].prev = -1;  // the piece is a list of its own
      symbols_[static_cast<size_t>(i - 1)].next = -1;
      merge(begin, i);
      begin = i;
    }
  }

  const std::vector<Symbol>& symbols() const { return symbols_; }

 private:
  std::string_view text_of(int32_t i) const {
    const Symbol& s = symbols_[static_cast<size_t>(i)];
    return text_.substr(s.start, s.len);
  }

  // Symbol i is "▁" and the one before does not end in "▁" (an invalid byte
  // group can swallow a "▁" in llama.cpp's character split, hence ends_with).
  bool starts_word(int32_t i) const {
    return text_of(i) == kSpace && !text_of(i - 1).ends_with(kSpace);
  }

  void split_chars() {
    symbols_.reserve(text_.size());
    for (size_t off = 0; off < text_.size();) {
      const size_t n =
          std::min(utf8_seq_len(static_cast<unsigned char>(text_[off])), text_.size() - off);
      const auto idx = static_cast<int32_t>(symbols_.size());
      symbols_.push_back({idx - 1, off + n == text_.size() ? -1 : idx + 1, off, n});
      off += n;
    }
  }

  // Merges symbols [begin, end) until no adjacent pair forms a token.
  void merge(int32_t begin, int32_t end) {
    for (int32_t i = begin + 1; i < end; ++i) try_add(i - 1, i);
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

bool spm_words_are_independent(const std::vector<std::string>& tokens) {
  for (const std::string& t : tokens) {
    for (size_t p = t.find(kSpace, 1); p != std::string::npos; p = t.find(kSpace, p + 1))
      if (p < kSpace.size() ||
          std::string_view(t).substr(p - kSpace.size(), kSpace.size()) != kSpace)
        return false;
  }
  return true;
}

void spm_encode(std::string_view text, const TokenMap& ids, const std::vector<float>& scores,
                const std::array<int32_t, 256>& byte_ids, bool by_words,
                std::vector<int32_t>& out) {
  if (text.empty()) return;
  SpmSession s(text, ids, scores);
  s.run(by_words);
  // Live symbols in index order are the final segmentation (merges fold right into left).
  for (const Symbol& x : s.symbols()) {
    if (x.len == 0) continue;
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
