#include "interrupt.hpp"

#include <csignal>
#include <cstdlib>

namespace sinkstream::app {
namespace {
volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_sigint(int) {
  if (g_interrupted) std::_Exit(130);  // second Ctrl-C: the user insists
  g_interrupted = 1;
}
}  // namespace

void install_interrupt_handler() { std::signal(SIGINT, on_sigint); }
bool interrupted() { return g_interrupted != 0; }
void clear_interrupt() { g_interrupted = 0; }

}  // namespace sinkstream::app
