// Ctrl-C during long work: the first SIGINT sets a flag that loops poll, so a
// command can stop cleanly and still print its statistics; a second one exits.
#pragma once

namespace sinkstream::app {

void install_interrupt_handler();
bool interrupted();

}  // namespace sinkstream::app
