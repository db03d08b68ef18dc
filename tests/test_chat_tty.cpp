// `sinkstream chat` in a real terminal (tmux): line editing and history through
// libedit, slash commands, Ctrl-C during a reply (back to the prompt) and at
// the prompt (exit 130 on a line of its own).
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "cli_run.hpp"
#include "fixtures.hpp"

namespace sinkstream::test {
namespace {

// A detached tmux session on a private server socket, so tests never touch the
// user's own tmux. Each session gets a socket of its own: a server killed by the
// previous test may still be exiting on its socket when the next one starts.
class Tmux {
 public:
  explicit Tmux(const std::string& command)
      : socket_("sinkstream-test-" + std::to_string(getpid()) + "-" + std::to_string(++sessions_)) {
    const auto r = run_sh(tmux() + " new-session -d -s chat -x 160 -y 50 '" + command + "'");
    REQUIRE_MESSAGE(r.code == 0, r.out);
  }
  ~Tmux() { run_sh(tmux() + " kill-server"); }

  void keys(const std::string& keys) { run_sh(tmux() + " send-keys -t chat " + keys); }
  std::string screen() { return run_sh(tmux() + " capture-pane -p -t chat").out; }

  // Waits until `done(screen)` holds; returns the last screen either way.
  template <typename Pred>
  std::string wait(Pred done, double seconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    std::string s;
    while (!done(s = screen()) && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return s;
  }
  static inline int sessions_ = 0;
  std::string wait_for(const std::string& text, size_t times = 1, double seconds = 120) {
    return wait([&](const std::string& s) { return count(s, text) >= times; }, seconds);
  }

  static size_t count(const std::string& s, const std::string& what) {
    size_t n = 0;
    for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
  }

 private:
  std::string tmux() const { return "tmux -L " + socket_; }
  std::string socket_;
};

// The line after the last line that starts with `prefix`.
std::string line_after(const std::string& screen, const std::string& prefix) {
  const size_t at = screen.rfind("\n" + prefix);
  if (at == std::string::npos) return "";
  const size_t next = screen.find('\n', at + 1);
  if (next == std::string::npos) return "";
  return screen.substr(next + 1, screen.find('\n', next + 1) - next - 1);
}

}  // namespace

TEST_SUITE("chat_tty") {
  TEST_CASE("chat in a terminal: line editing, history, Ctrl-C stops a reply, Ctrl-C at the prompt exits 130") {
    REQUIRE_FIXTURE("stories260K.gguf");
    REQUIRE_MESSAGE(run_sh("command -v tmux").code == 0, "tmux is a test dependency (scripts/install-deps.sh)");
    Tmux t(std::string("\"") + SINKSTREAM_CLI + "\" chat --model " + fixture("stories260K.gguf") +
           " --temperature 0 --tokens 0; echo EXIT=$?; sleep 60");
    std::string s = t.wait_for("/help lists commands");
    REQUIRE_MESSAGE(s.find("/help lists commands") != std::string::npos, s);

    // Type "/fo", move left once, insert X: the program receives the edited line.
    t.keys("/fo Left X Enter");
    s = t.wait_for("unknown command /fXo");
    CHECK_MESSAGE(s.find("unknown command /fXo") != std::string::npos, s);
    CHECK(s.find("^[[D") == std::string::npos);  // the arrow was an edit, not text
    // Up recalls it from the history.
    t.keys("Up Enter");
    s = t.wait_for("unknown command /fXo", 2);
    CHECK_MESSAGE(Tmux::count(s, "unknown command /fXo") == 2, s);

    // A reply, interrupted as soon as it starts: back at the prompt, not out of the program.
    t.keys("'Once upon a time' Enter");
    s = t.wait([](const std::string& x) { return !line_after(x, "> Once upon a time").empty(); }, 120);
    t.keys("C-c");
    s = t.wait_for("[reply stopped]");
    CHECK_MESSAGE(s.find("[reply stopped]") != std::string::npos, s);
    CHECK(s.find("EXIT=") == std::string::npos);
    t.keys("/stats Enter");
    s = t.wait_for("[cache ");
    CHECK_MESSAGE(s.find("tokens streamed") != std::string::npos, s);

    // Ctrl-C at the prompt: leaves on a new line with the status shells expect.
    t.keys("C-c");
    s = t.wait_for("EXIT=");
    CHECK_MESSAGE(s.find("EXIT=130") != std::string::npos, s);
    CHECK_MESSAGE(line_after(s, ">").rfind("[cache ", 0) == 0, s);  // the statistics start a line of their own
  }

  TEST_CASE("chat in a terminal: multi-line input, /clear, Ctrl-D exits 0") {
    REQUIRE_FIXTURE("stories260K.gguf");
    REQUIRE(run_sh("command -v tmux").code == 0);
    Tmux t(std::string("\"") + SINKSTREAM_CLI + "\" chat --model " + fixture("stories260K.gguf") +
           " --temperature 0 --tokens 3; echo EXIT=$?; sleep 60");
    std::string s = t.wait_for("/help lists commands");
    t.keys("'one \\' Enter two Enter");
    s = t.wait_for("... two");
    CHECK_MESSAGE(s.find("> one \\\n... two") != std::string::npos, s);
    t.keys("'\"\"\"a' Enter b Enter 'c\"\"\"' Enter");
    s = t.wait_for("... c\"\"\"");
    t.keys("/stats Enter");
    s = t.wait_for("[cache ");
    t.keys("/clear Enter /stats Enter");
    s = t.wait_for("[cache ", 2);
    CHECK_MESSAGE(s.find("[conversation cleared") != std::string::npos, s);
    CHECK_MESSAGE(s.find("0 tokens streamed") != std::string::npos, s);
    t.keys("C-d");
    s = t.wait_for("EXIT=");
    CHECK_MESSAGE(s.find("EXIT=0") != std::string::npos, s);
  }
}

}  // namespace sinkstream::test
