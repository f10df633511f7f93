#include "tuner/signature.h"

#include <kiln/version.h>

#include "backends/device.h"
#include "ir/shape_eval.h"

#include <xxhash.h>

#include <fstream>
#include <sstream>

namespace kiln::tuner {

namespace {

void append_dims(std::ostringstream& s, const std::vector<Dims>& dims) {
  for (const Dims& d : dims) s << d.to_string();
}

std::string attr_text(const ir::AttrValue& v) {
  std::ostringstream s;
  s.precision(17);
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::vector<int64_t>> ||
                      std::is_same_v<T, std::vector<double>>) {
          for (auto e : x) s << e << ",";
        } else {
          s << x;
        }
      },
      v);
  return s.str();
}

// Every kiln tensor is contiguous row-major today; the layout is part of the signature so that
// layouts added later get their own entries.
constexpr const char* kRowMajor = "rm";
// Integer constants up to this size have their values in the signature.
constexpr int64_t kMaxValuesInSignature = 64;

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string m = line.substr(colon + 1);
        while (!m.empty() && m.front() == ' ') m.erase(m.begin());
        return m;
      }
    }
  }
  return "unknown";
}

}  // namespace

std::string node_signature(const ops::KernelInfo& info) {
  std::ostringstream s;
  s << info.node->op << "|" << backend_name(info.backend) << "|";
  for (const auto& [k, v] : info.attrs().map()) s << k << "=" << attr_text(v) << ";";
  s << "|in:";
  for (int i = 0; i < info.num_inputs(); ++i) {
    if (!info.has_input(i)) {
      s << "_,";
      continue;
    }
    s << dtype_name(info.input_dtype(i)) << ":" << kRowMajor << (info.constant(i) ? ":c" : "")
      << ",";
  }
  s << "|out:";
  for (size_t o = 0; o < info.node->outputs.size(); ++o) {
    s << dtype_name(info.output_dtype(static_cast<int>(o))) << ":" << kRowMajor << ",";
  }
  s << "|min:";
  append_dims(s, info.min.inputs);
  s << "|opt:";
  append_dims(s, info.opt.inputs);
  s << "|max:";
  append_dims(s, info.max.inputs);
  // Outputs and the content of small integer inputs (shape tensors, axes, sizes): two layers
  // whose inputs have equal shapes can still differ there (Reshape, Slice, Expand, ...).
  s << "|outs:";
  append_dims(s, info.min.outputs);
  append_dims(s, info.opt.outputs);
  append_dims(s, info.max.outputs);
  for (int i = 0; i < info.num_inputs(); ++i) {
    if (!info.has_input(i) || !is_integer(info.input_dtype(i))) continue;
    if (const HostTensor* c = info.constant(i);
        c != nullptr && c->numel() <= kMaxValuesInSignature) {
      s << "|v" << i << ":";
      for (int64_t k = 0; k < c->numel(); ++k) s << c->get_int(k) << ",";
    } else if (info.input(i).shape_value) {
      auto content = ir::eval_shape_value(info.input(i), info.opt_symbols);
      s << "|s" << i << ":";
      if (content.is_ok()) {
        for (int64_t v : *content) s << v << ",";
      }
    }
  }
  return s.str();
}

TimingCacheKey signature_key(const std::string& signature) {
  return XXH64(signature.data(), signature.size(), 0);
}

TimingCacheDescriptor cache_descriptor(const Device& device, const BuildConfig& config) {
  const DeviceInfo& di = device.info();
  TimingCacheDescriptor d;
  d.backend = device.backend();
  d.device_name = device.backend() == Backend::kCpu ? "cpu: " + cpu_model() : di.name;
  d.compute_major = di.compute_major;
  d.compute_minor = di.compute_minor;
  d.driver_version = di.driver_version;
  d.cuda_runtime_version = di.cuda_runtime_version;
  d.cudnn_version = di.cudnn_version;
  d.cublas_version = di.cublas_version;
  d.kiln_version = kVersion;
  // TF32 changes float32 GEMM/conv kernels on CUDA; on the CPU no flag changes a kernel.
  if (device.backend() == Backend::kCuda) {
    d.kernel_flags = config.flags & static_cast<uint32_t>(BuilderFlag::kTf32);
  }
  return d;
}

}  // namespace kiln::tuner
