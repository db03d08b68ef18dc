// run_selftest: the kernel check registry on the chosen device, then the
// default model's greedy ids against the committed ones.
#include "sinkstream/selftest.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "check/golden.hpp"
#include "check/kernel_check.hpp"
#include "engine/engine.hpp"
#include "sinkstream/error.hpp"
#include "sinkstream/gpu.hpp"
#include "vk/context.hpp"

namespace sinkstream {
namespace {

SelftestDevice describe(const vk::DeviceInfo& d) {
  SelftestDevice s;
  s.name = d.name;
  s.type = vk::device_type_name(d.type);
  s.driver = d.driver;
  s.vulkan = std::to_string(VK_API_VERSION_MAJOR(d.api_version)) + "." +
             std::to_string(VK_API_VERSION_MINOR(d.api_version)) + "." +
             std::to_string(VK_API_VERSION_PATCH(d.api_version));
  s.subgroup_size = d.subgroup_size;
  s.subgroup_arithmetic = d.subgroup_arithmetic;
  s.subgroup_shuffle = d.subgroup_shuffle;
  s.fp16 = d.fp16_arithmetic;
  s.storage_16bit = d.storage_16bit;
  s.coopmat_nv = d.coopmat_nv;
  s.coopmat_khr = d.coopmat_khr;
  s.coopmat_prefill = d.coopmat_prefill;
  s.buffer_address = d.buffer_address;
  s.uma = d.uma;
  s.max_shared_bytes = d.max_shared_bytes;
  s.memory_bytes = d.device_local_bytes;
  return s;
}

KernelReport to_report(const check::VariantResult& r, const check::KernelCheck& k) {
  KernelReport out;
  out.kernel = r.kernel;
  out.variant = r.variant;
  out.applicable = r.applicable;
  out.note = r.note;
  out.cases = r.cases;
  out.max_error = r.max_error;
  out.tolerance = r.tolerance;
  out.error_measure = k.error;
  out.pass = r.pass;
  out.ms = r.ms;
  return out;
}

// Golden ids given as the prompt; the rest are the GPU's greedy picks.
constexpr size_t kPromptIds = 15;

EndToEndReport end_to_end(Gpu& gpu, const std::string& path) {
  EndToEndReport e;
  e.model = path;
  if (path.empty()) {
    e.note = "skipped";
    return e;
  }
  if (!std::filesystem::exists(path)) {
    e.note =
        "skipped: no model file at '" + path + "' (run from the repository, or pass --model PATH)";
    return e;
  }
  const auto t0 = std::chrono::steady_clock::now();
  e.ran = true;
  try {
    const auto m = model::load_model(path);
    const check::Golden& g = check::default_model_golden();
    if (!check::matches(g, *m)) {
      e.note = "not the default model (no golden ids for it)";
      e.ran = false;
      return e;
    }
    model::EngineConfig cfg;
    cfg.sinks = g.sinks;
    cfg.window = g.window;
    cfg.kv_type = KvType::f32;
    model::Engine engine(gpu, *m, cfg);
    // A prompt chunk (the chunk kernels) of BOS and the first golden ids, then
    // one-token greedy steps (the decode kernels and the GPU argmax) past the wrap.
    std::vector<int32_t> prompt = {g.first};
    prompt.insert(prompt.end(), g.ids.begin(), g.ids.begin() + kPromptIds);
    const auto logits = engine.feed(prompt);
    std::vector<int32_t> ids(g.ids.begin(), g.ids.begin() + kPromptIds);
    ids.push_back(
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
    const auto steps = static_cast<uint32_t>(g.ids.size() - ids.size());
    const auto rest = engine.decode_greedy(ids.back(), steps);
    ids.insert(ids.end(), rest.begin(), rest.end());
    e.tokens = static_cast<uint32_t>(g.ids.size() - kPromptIds);  // the GPU's picks
    for (size_t i = kPromptIds; i < g.ids.size(); ++i) {
      if (i < ids.size() && ids[i] == g.ids[i]) {
        ++e.matched;
      } else if (e.first_mismatch < 0) {
        e.first_mismatch = static_cast<int32_t>(i);
      }
    }
    e.pass = e.matched == e.tokens;
  } catch (const std::exception& ex) {
    e.note = ex.what();
  }
  e.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return e;
}

bool named(const std::string& name, std::string_view kernel, std::string_view variant) {
  return name == kernel || name == check::shader_name(kernel, variant);
}

bool selected(const SelftestOptions& o, std::string_view kernel, std::string_view variant) {
  return o.only.empty() || std::any_of(o.only.begin(), o.only.end(), [&](const std::string& s) {
           return named(s, kernel, variant);
         });
}

using Plan = std::vector<std::pair<const check::KernelCheck*, std::string_view>>;  // (kernel, variant)

KernelReport run_one(vk::Context& ctx, const Plan::value_type& p, const check::CheckOptions& co) {
  return to_report(check::run_variant(ctx, *p.first, p.second, co), *p.first);
}

// One check after another, each charged with the validation messages it caused.
void run_serial(vk::Context& ctx, const Plan& plan, const check::CheckOptions& co, SelftestReport& report,
                const std::function<void(const KernelReport&)>& on_kernel) {
  for (const auto& p : plan) {
    ctx.take_validation_messages();
    KernelReport r = run_one(ctx, p, co);
    const auto messages = ctx.take_validation_messages();
    if (!messages.empty()) {
      r.pass = false;
      r.note += (r.note.empty() ? "" : "; ") + std::string("validation: ") + messages.front();
    }
    if (on_kernel) on_kernel(r);
    report.kernels.push_back(std::move(r));
  }
}

// `jobs` checks at once, reported in the registry's order as each is done. A
// first run spends most of its time compiling pipelines, which a driver does on
// the thread that asks, so checks on several threads finish sooner.
void run_parallel(vk::Context& ctx, const Plan& plan, const check::CheckOptions& co, uint32_t jobs,
                  SelftestReport& report, const std::function<void(const KernelReport&)>& on_kernel) {
  std::vector<KernelReport> results(plan.size());
  std::vector<std::promise<void>> done(plan.size());
  std::vector<std::future<void>> ready;
  for (auto& d : done) ready.push_back(d.get_future());
  std::atomic<size_t> next{0};
  std::vector<std::jthread> workers;  // joined on the way out; a stop leaves the rest undone
  for (uint32_t j = 0; j < jobs; ++j)
    workers.emplace_back([&](std::stop_token stop) {
      for (size_t i; !stop.stop_requested() && (i = next++) < plan.size();) {
        try {  // a check's own errors are in its report; this is the rest (out of memory)
          results[i] = run_one(ctx, plan[i], co);
          done[i].set_value();
        } catch (...) {
          done[i].set_exception(std::current_exception());
        }
      }
    });
  for (size_t i = 0; i < plan.size(); ++i) {
    ready[i].get();
    if (on_kernel) on_kernel(results[i]);
    report.kernels.push_back(std::move(results[i]));
  }
}

}  // namespace

bool SelftestReport::pass() const {
  for (const KernelReport& k : kernels)
    if (!k.pass) return false;
  return !end_to_end.ran || end_to_end.pass;
}

const char* default_selftest_model() {
  return "models/sinkstream-books-14m.gguf";
}

SelftestReport run_selftest(const SelftestOptions& o,
                            const std::function<void(const KernelReport&)>& on_kernel) {
  GpuOptions go;
  go.device = o.device;
  go.validation = o.validation;
  Gpu gpu(go);
  vk::Context& ctx = gpu.context();
  for (const std::string& name : o.only) {
    bool known = false;
    for (const check::KernelCheck& k : check::kernel_checks())
      for (std::string_view v : k.variants) known = known || named(name, k.kernel, v);
    if (!known)
      throw InvalidArgument("no kernel or kernel variant named '" + name +
                            "' (see `sinkstream selftest`)");
  }
  SelftestReport report;
  report.device = describe(ctx.info());
  check::CheckOptions co;
  co.quick = o.quick;
  Plan plan;
  for (const check::KernelCheck& k : check::kernel_checks())
    for (std::string_view variant : k.variants)
      if (selected(o, k.kernel, variant)) plan.emplace_back(&k, variant);
  // Validation messages name no check: with validation on, one at a time.
  const uint32_t jobs = ctx.validation_enabled() ? 1
                        : o.jobs              ? o.jobs
                                              : std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  const auto t0 = std::chrono::steady_clock::now();
  if (jobs == 1)
    run_serial(ctx, plan, co, report, on_kernel);
  else
    run_parallel(ctx, plan, co, jobs, report, on_kernel);
  report.jobs = jobs;
  report.kernels_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  report.end_to_end = end_to_end(gpu, o.model_path);
  return report;
}

}  // namespace sinkstream
