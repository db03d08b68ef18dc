// Instance, device selection and device creation.
#include "vk/context.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include "vk/check.hpp"

namespace sinkstream::vk {
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool env_flag(const char* name) {
  const std::string v = env(name);
  return !v.empty() && v != "0" && v != "false" && v != "off";
}

uint64_t default_submit_timeout_ms(VkPhysicalDeviceType type) {
  return type == VK_PHYSICAL_DEVICE_TYPE_CPU ? 30 * 60 * 1000 : 120 * 1000;
}

namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool has_extension(VkPhysicalDevice pd, const char* name) {
  uint32_t n = 0;
  VK_CHECK(vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr));
  std::vector<VkExtensionProperties> exts(n);
  VK_CHECK(vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, exts.data()));
  return std::any_of(exts.begin(), exts.end(),
                     [&](const auto& e) { return std::strcmp(e.extensionName, name) == 0; });
}

bool has_layer(const char* name) {
  uint32_t n = 0;
  VK_CHECK(vkEnumerateInstanceLayerProperties(&n, nullptr));
  std::vector<VkLayerProperties> layers(n);
  VK_CHECK(vkEnumerateInstanceLayerProperties(&n, layers.data()));
  return std::any_of(layers.begin(), layers.end(),
                     [&](const auto& l) { return std::strcmp(l.layerName, name) == 0; });
}

// Higher is better: the default choice when the user names no device.
int type_rank(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return 1;
    default:
      return 0;
  }
}

bool compute_queue_family(VkPhysicalDevice pd, uint32_t* family) {
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
  std::vector<VkQueueFamilyProperties> fams(n);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, fams.data());
  for (uint32_t i = 0; i < n; ++i) {
    if (fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      *family = i;
      return true;
    }
  }
  return false;
}

// Whether the NV cooperative-matrix extension offers the one shape the prefill
// kernel uses: 16x16x16, float16 A and B, float32 C and D, subgroup scope.
bool coopmat_nv_f16_16(VkInstance inst, VkPhysicalDevice pd) {
  if (!has_extension(pd, "VK_NV_cooperative_matrix")) return false;
  const auto get = reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV>(
      vkGetInstanceProcAddr(inst, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV"));
  if (!get) return false;
  uint32_t n = 0;
  if (get(pd, &n, nullptr) != VK_SUCCESS) return false;
  std::vector<VkCooperativeMatrixPropertiesNV> props(
      n, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
  if (get(pd, &n, props.data()) != VK_SUCCESS) return false;
  for (const auto& p : props)
    if (p.MSize == 16 && p.NSize == 16 && p.KSize == 16 &&
        p.AType == VK_COMPONENT_TYPE_FLOAT16_NV && p.BType == VK_COMPONENT_TYPE_FLOAT16_NV &&
        p.CType == VK_COMPONENT_TYPE_FLOAT32_NV && p.DType == VK_COMPONENT_TYPE_FLOAT32_NV &&
        p.scope == VK_SCOPE_SUBGROUP_NV)
      return true;
  return false;
}

// Identifies the driver's compiled pipelines: a cache file written by another
// device or driver version is not loaded.
std::string pipeline_cache_key(const VkPhysicalDeviceProperties& p) {
  char key[96];
  std::snprintf(key, sizeof key, "%04x-%04x-%08x-", p.vendorID, p.deviceID, p.driverVersion);
  std::string out = key;
  for (uint8_t b : p.pipelineCacheUUID) {
    std::snprintf(key, sizeof key, "%02x", b);
    out += key;
  }
  return out;
}

// The largest device-local heap, and whether the device is UMA.
void query_memory(VkPhysicalDevice pd, DeviceInfo& d) {
  VkPhysicalDeviceMemoryProperties mem{};
  vkGetPhysicalDeviceMemoryProperties(pd, &mem);
  for (uint32_t h = 0; h < mem.memoryHeapCount; ++h) {
    if (mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      d.device_local_bytes = std::max<uint64_t>(d.device_local_bytes, mem.memoryHeaps[h].size);
  }
  for (uint32_t t = 0; t < mem.memoryTypeCount; ++t) {
    const auto f = mem.memoryTypes[t].propertyFlags;
    const auto heap = mem.memoryHeaps[mem.memoryTypes[t].heapIndex];
    // Only a host-visible type on the *large* device heap makes the device UMA;
    // the 256 MiB BAR window of a discrete GPU does not.
    if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
        heap.size == d.device_local_bytes)
      d.uma = true;
  }
}

DeviceInfo query_info(VkInstance inst, VkPhysicalDevice pd, uint32_t index) {
  VkPhysicalDeviceVulkan11Properties p11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES};
  VkPhysicalDeviceVulkan12Properties p12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES};
  // The instance is Vulkan 1.2: integer dot products come by their extension
  // (core in 1.3), which SPV_KHR_integer_dot_product then may use.
  VkPhysicalDeviceShaderIntegerDotProductProperties dotp{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES};
  const bool dot_ext = has_extension(pd, "VK_KHR_shader_integer_dot_product");
  p11.pNext = &p12;
  if (dot_ext) p12.pNext = &dotp;
  VkPhysicalDeviceShaderSMBuiltinsPropertiesNV sm{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_SM_BUILTINS_PROPERTIES_NV};
  if (has_extension(pd, "VK_NV_shader_sm_builtins")) (dot_ext ? dotp.pNext : p12.pNext) = &sm;
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props.pNext = &p11;
  vkGetPhysicalDeviceProperties2(pd, &props);

  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceShaderIntegerDotProductFeatures dotf{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
  f11.pNext = &f12;
  if (dot_ext) f12.pNext = &dotf;
  VkPhysicalDeviceFeatures2 feats{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  feats.pNext = &f11;
  vkGetPhysicalDeviceFeatures2(pd, &feats);

  const VkPhysicalDeviceLimits& lim = props.properties.limits;
  DeviceInfo d;
  d.index = index;
  d.name = props.properties.deviceName;
  d.type = props.properties.deviceType;
  d.driver = std::string(p12.driverName) + " " + p12.driverInfo;
  d.api_version = props.properties.apiVersion;
  d.cache_key = pipeline_cache_key(props.properties);
  d.subgroup_size = p11.subgroupSize;
  const bool compute_subgroups = (p11.subgroupSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;
  d.subgroup_arithmetic =
      compute_subgroups && (p11.subgroupSupportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
  d.subgroup_shuffle =
      compute_subgroups && (p11.subgroupSupportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);
  d.fp16_arithmetic = f12.shaderFloat16;
  d.storage_16bit = f11.storageBuffer16BitAccess;
  d.coopmat_khr = has_extension(pd, "VK_KHR_cooperative_matrix");
  d.coopmat_nv = has_extension(pd, "VK_NV_cooperative_matrix");
  // The prefill kernel also needs float16 arithmetic, the Vulkan memory model
  // (its SPIR-V declares it) and subgroups of 32 (it is laid out as 4 of them).
  d.coopmat_prefill = d.coopmat_nv && f12.shaderFloat16 && f12.vulkanMemoryModel &&
                      p11.subgroupSize == 32 && coopmat_nv_f16_16(inst, pd);
  d.executable_stats = has_extension(pd, "VK_KHR_pipeline_executable_properties");
  d.integer_dot = dot_ext && dotf.shaderIntegerDotProduct;
  d.integer_dot_fast = d.integer_dot && dotp.integerDotProduct4x8BitPackedSignedAccelerated;
  d.buffer_address = f12.bufferDeviceAddress && props.properties.apiVersion >= VK_API_VERSION_1_2 &&
                     env("SINKSTREAM_BUFFER_ADDRESS") != "0";
  d.compute_units = sm.shaderSMCount;
  d.max_shared_bytes = lim.maxComputeSharedMemorySize;
  d.max_workgroup_invocations = lim.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; ++i) d.max_workgroup_count[i] = lim.maxComputeWorkGroupCount[i];
  d.max_storage_buffer_range = lim.maxStorageBufferRange;
  d.max_allocation_bytes = p11.maxMemoryAllocationSize;
  d.timestamp_period_ns = lim.timestampPeriod;

  uint32_t family = 0;
  if (compute_queue_family(pd, &family)) {
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
    std::vector<VkQueueFamilyProperties> fams(n);
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, fams.data());
    d.timestamps = fams[family].timestampValidBits > 0 && lim.timestampPeriod > 0;
  }

  query_memory(pd, d);
  return d;
}

Instance make_instance(bool validation) {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "sinkstream";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  std::vector<const char*> layers, exts;
  VkValidationFeatureEnableEXT enables[] = {
      VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  if (validation) {
    layers.push_back(kValidationLayer);
    exts.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    exts.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
    features.enabledValidationFeatureCount = 1;
    features.pEnabledValidationFeatures = enables;
    ci.pNext = &features;
  }
  ci.enabledLayerCount = static_cast<uint32_t>(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  ci.enabledExtensionCount = static_cast<uint32_t>(exts.size());
  ci.ppEnabledExtensionNames = exts.data();
  VkInstance inst = VK_NULL_HANDLE;
  const VkResult r = vkCreateInstance(&ci, nullptr, &inst);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED)
    throw NoDeviceError(
        "no Vulkan driver found: install your GPU's Vulkan driver (Debian/Ubuntu: "
        "mesa-vulkan-drivers "
        "provides lavapipe, a CPU implementation)");
  VK_CHECK(r);
  return Instance(inst);
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance inst) {
  uint32_t n = 0;
  VK_CHECK(vkEnumeratePhysicalDevices(inst, &n, nullptr));
  std::vector<VkPhysicalDevice> pds(n);
  VK_CHECK(vkEnumeratePhysicalDevices(inst, &n, pds.data()));
  // Lavapipe's globals still point at what it allocated when the loader unmaps
  // it at vkDestroyInstance, which a leak checker then reports as leaked by an
  // unknown module. Kept mapped, as the validation layer is (no-op elsewhere).
  dlopen("libvulkan_lvp.so", RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  return pds;
}

}  // namespace

const char* device_type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return "cpu";
    default:
      return "other";
  }
}

std::vector<DeviceInfo> list_devices() {
  Instance inst = make_instance(false);
  std::vector<DeviceInfo> out;
  const auto pds = physical_devices(inst.get());
  for (uint32_t i = 0; i < pds.size(); ++i) out.push_back(query_info(inst.get(), pds[i], i));
  return out;
}

// Decimal digits only, at most max_digits of them; nullopt otherwise.
static std::optional<uint64_t> whole_number(std::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits ||
      !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); }))
    return std::nullopt;
  return std::stoull(std::string(s));
}

uint64_t parse_byte_size(std::string_view text) {
  if (text.empty()) throw InvalidArgument("empty byte size");
  std::string_view s = text;
  uint64_t mult = 1;
  const char last = static_cast<char>(std::toupper(static_cast<unsigned char>(s.back())));
  if (last == 'K' || last == 'M' || last == 'G') {
    mult = last == 'K' ? (1ull << 10) : last == 'M' ? (1ull << 20) : (1ull << 30);
    s.remove_suffix(1);
  }
  const auto n = whole_number(s, 15);
  if (!n)
    throw InvalidArgument("not a byte size: '" + std::string(text) +
                          "' (use e.g. 1048576, 512M or 2G)");
  return *n * mult;
}

// A whole number of seconds, 1 to 10^6, from setting `what`.
static uint64_t parse_seconds(const std::string& text, const char* what) {
  const uint64_t s = whole_number(text, 7).value_or(0);
  if (s == 0 || s > 1000000)
    throw InvalidArgument(std::string(what) +
                          " must be a whole number of seconds (1 to 1000000), not '" + text + "'");
  return s;
}

// Where compiled pipelines persist between runs: `setting` as given, nowhere
// for "off", else $XDG_CACHE_HOME (or ~/.cache)/sinkstream/pipelines-<device
// and driver>.bin, so a driver update or another GPU starts a new file.
static std::string pipeline_cache_file(const std::string& setting, const DeviceInfo& info) {
  if (setting == "off" || setting == "0") return "";
  if (!setting.empty()) return setting;
  const std::string xdg = env("XDG_CACHE_HOME"), home = env("HOME");
  if (xdg.empty() && home.empty()) return "";
  return (xdg.empty() ? home + "/.cache" : xdg) + "/sinkstream/pipelines-" + info.cache_key +
         ".bin";
}

Context::Context(const ContextOptions& options) {
  validation_ = options.validation || env_flag("SINKSTREAM_VALIDATION");
  memory_limit_ = options.memory_limit;
  if (memory_limit_ == 0 && !env("SINKSTREAM_DEVICE_MEMORY_LIMIT").empty())
    memory_limit_ = parse_byte_size(env("SINKSTREAM_DEVICE_MEMORY_LIMIT"));
  if (!env("SINKSTREAM_INJECT_DEVICE_LOST").empty())
    inject_lost_at_ = parse_byte_size(env("SINKSTREAM_INJECT_DEVICE_LOST"));
  create_instance();
  pick_physical_device(options.device.empty() ? env("SINKSTREAM_DEVICE") : options.device);
  submit_timeout_ms_ = options.submit_timeout_ms;
  if (submit_timeout_ms_ == 0 && !env("SINKSTREAM_SUBMIT_TIMEOUT").empty())
    submit_timeout_ms_ =
        parse_seconds(env("SINKSTREAM_SUBMIT_TIMEOUT"), "SINKSTREAM_SUBMIT_TIMEOUT") * 1000;
  if (submit_timeout_ms_ == 0) submit_timeout_ms_ = default_submit_timeout_ms(info_.type);
  create_device();
  const std::string cache_setting =
      options.pipeline_cache_path.empty() ? env("SINKSTREAM_PIPELINE_CACHE") : options.pipeline_cache_path;
  pipeline_cache_path_ = pipeline_cache_file(cache_setting, info_);
  pipeline_cache_default_ = cache_setting.empty();
  load_pipeline_cache();
  transfer_pool_ = create_command_pool();
  transfer_fence_ = create_fence();
}

Context::~Context() {
  // Messages nobody took (a CLI run with SINKSTREAM_VALIDATION=1) must not vanish.
  for (const std::string& m : messages_) std::fprintf(stderr, "sinkstream: %s\n", m.c_str());
  if (device_.get() != VK_NULL_HANDLE) {
    vkDeviceWaitIdle(
        device_.get());  // result ignored on purpose: nothing can be done in a destructor
    try {
      save_pipeline_cache();
    } catch (const std::exception& e) {
      // An unwritable cache path must not turn a clean shutdown into a crash.
      std::fprintf(stderr, "sinkstream: warning: %s\n", e.what());
    }
  }
}

void Context::create_instance() {
  if (validation_ && !has_layer(kValidationLayer))
    throw VulkanError(
        "validation was requested but VK_LAYER_KHRONOS_validation is not installed (Debian/Ubuntu: "
        "apt-get install vulkan-validationlayers)");
  instance_ = make_instance(validation_);
  if (!validation_) return;
  // The validation layer (1.3.239) leaves allocations behind, owned by its own
  // globals, and the loader unmaps it at vkDestroyInstance: leak checkers then
  // blame an unknown module. Keeping it mapped lets them attribute (and
  // scripts/lsan.supp suppress) what is the layer's, not ours.
  dlopen("libVkLayer_khronos_validation.so", RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
      vkGetInstanceProcAddr(instance_.get(), "vkCreateDebugUtilsMessengerEXT"));
  auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
      vkGetInstanceProcAddr(instance_.get(), "vkDestroyDebugUtilsMessengerEXT"));
  if (!create || !destroy)
    throw VulkanError("VK_EXT_debug_utils is missing although validation is on");
  VkDebugUtilsMessengerCreateInfoEXT ci{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  ci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  ci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                   VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                   VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  ci.pfnUserCallback = &Context::on_debug_message;
  ci.pUserData = this;
  VkDebugUtilsMessengerEXT m = VK_NULL_HANDLE;
  VK_CHECK(create(instance_.get(), &ci, nullptr, &m));
  messenger_ = DebugMessenger(instance_.get(), m, destroy);
}

VkBool32 Context::on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                   VkDebugUtilsMessageTypeFlagsEXT,
                                   const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  auto* self = static_cast<Context*>(user);
  const char* level =
      (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) ? "error" : "warning";
  std::lock_guard<std::mutex> lock(self->messages_mutex_);
  self->messages_.push_back(std::string("validation ") + level + ": " +
                            (data->pMessage ? data->pMessage : ""));
  return VK_FALSE;
}

std::vector<std::string> Context::take_validation_messages() {
  std::lock_guard<std::mutex> lock(messages_mutex_);
  return std::exchange(messages_, {});
}

void Context::pick_physical_device(const std::string& selector) {
  const auto pds = physical_devices(instance_.get());
  std::vector<DeviceInfo> infos;
  std::vector<int> usable;
  for (uint32_t i = 0; i < pds.size(); ++i) {
    infos.push_back(query_info(instance_.get(), pds[i], i));
    uint32_t fam = 0;
    if (infos.back().api_version >= VK_API_VERSION_1_2 && compute_queue_family(pds[i], &fam))
      usable.push_back(static_cast<int>(i));
  }
  if (usable.empty())
    throw NoDeviceError(
        pds.empty()
            ? "Vulkan sees no device at all: install a Vulkan driver (or mesa-vulkan-drivers)"
            : "no Vulkan device supports Vulkan 1.2 with a compute queue");
  int chosen = -1;
  if (selector.empty()) {
    chosen = *std::max_element(usable.begin(), usable.end(), [&](int a, int b) {
      return type_rank(infos[a].type) < type_rank(infos[b].type);
    });
  } else if (std::all_of(selector.begin(), selector.end(),
                         [](unsigned char c) { return std::isdigit(c); })) {
    const unsigned long idx = selector.size() > 6 ? ~0ul : std::stoul(selector);
    if (std::find(usable.begin(), usable.end(), static_cast<int>(idx)) == usable.end())
      throw NoDeviceError("device index " + selector + " does not name a usable Vulkan device (" +
                          std::to_string(pds.size()) + " found; run `sinkstream devices`)");
    chosen = static_cast<int>(idx);
  } else {
    for (int i : usable)
      if (lower(infos[i].name).find(lower(selector)) != std::string::npos) {
        chosen = i;
        break;
      }
    if (chosen < 0)
      throw NoDeviceError("no Vulkan device name contains '" + selector +
                          "' (run `sinkstream devices`)");
  }
  physical_ = pds[chosen];
  info_ = infos[chosen];
  vkGetPhysicalDeviceMemoryProperties(physical_, &memory_props_);
}

void Context::create_device() {
  if (!compute_queue_family(physical_, &queue_family_))
    throw NoDeviceError("the device has no compute queue");
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = queue_family_;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;

  // Only features the device reports are enabled; kernels pick variants from info_.
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  f11.storageBuffer16BitAccess = info_.storage_16bit;
  f12.shaderFloat16 = info_.fp16_arithmetic;
  f12.bufferDeviceAddress = info_.buffer_address;
  f11.pNext = &f12;
  VkPhysicalDeviceShaderIntegerDotProductFeatures dot{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
  dot.shaderIntegerDotProduct = VK_TRUE;
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  std::vector<const char*> extensions;
  if (info_.coopmat_prefill) {
    f12.vulkanMemoryModel = VK_TRUE;
    coop.cooperativeMatrix = VK_TRUE;
    f12.pNext = &coop;
    extensions.push_back("VK_NV_cooperative_matrix");
  }
  if (info_.integer_dot) {
    dot.pNext = f12.pNext;
    f12.pNext = &dot;
    extensions.push_back("VK_KHR_shader_integer_dot_product");
  }
  // $SINKSTREAM_PIPELINE_STATS=1: each new kernel prints the driver's statistics
  // (registers, spills, shared memory) to stderr, for tuning on real GPUs.
  VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR stats{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR};
  capture_stats_ = info_.executable_stats && !env("SINKSTREAM_PIPELINE_STATS").empty();
  if (capture_stats_) {
    stats.pipelineExecutableInfo = VK_TRUE;
    stats.pNext = f11.pNext;
    f11.pNext = &stats;
    extensions.push_back("VK_KHR_pipeline_executable_properties");
  }
  VkDeviceCreateInfo ci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  ci.pNext = &f11;
  ci.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  ci.ppEnabledExtensionNames = extensions.data();
  ci.queueCreateInfoCount = 1;
  ci.pQueueCreateInfos = &qci;
  VkDevice dev = VK_NULL_HANDLE;
  VK_CHECK(vkCreateDevice(physical_, &ci, nullptr, &dev));
  device_ = Device(dev);
  vkGetDeviceQueue(dev, queue_family_, 0, &queue_);
}

}  // namespace sinkstream::vk
