// Subcommands of the sinkstream CLI. Each takes the arguments after its name.
#pragma once
#include <string>
#include <vector>

namespace sinkstream::app {

int cmd_devices(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int bench_generate(const std::vector<std::string>& args);  // `bench generate`
int bench_stream(const std::vector<std::string>& args);    // `bench stream`
int cmd_demo(const std::vector<std::string>& args);
int cmd_tokenize(const std::vector<std::string>& args);
int cmd_generate(const std::vector<std::string>& args);
int bench_batch(const std::vector<std::string>& args);  // `bench batch`
int cmd_chat(const std::vector<std::string>& args);
int cmd_info(const std::vector<std::string>& args);
int cmd_ppl(const std::vector<std::string>& args);
int cmd_sinks(const std::vector<std::string>& args);
int cmd_logits(const std::vector<std::string>& args);
int cmd_template(const std::vector<std::string>& args);
int cmd_selftest(const std::vector<std::string>& args);
int cmd_serve(const std::vector<std::string>& args);

}  // namespace sinkstream::app
