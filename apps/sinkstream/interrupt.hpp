// Ctrl-C during long work: the first SIGINT sets a flag that loops poll, so a
// command can stop cleanly and still print its statistics; a second one exits.
#pragma once

namespace sinkstream::app {

void install_interrupt_handler();
bool interrupted();
// Forgets a Ctrl-C that has been dealt with (chat: it stopped a reply, the
// conversation goes on).
void clear_interrupt();

// The exit status of a command stopped by Ctrl-C, after its partial result: what
// shells expect of a program ended by SIGINT (128 + 2).
constexpr int kInterruptedExit = 130;

}  // namespace sinkstream::app
