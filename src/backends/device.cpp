#include "backends/device.h"

#ifdef KILN_WITH_CUDA
#include "backends/cuda/cuda_device.h"
#endif

namespace kiln {

Device* cpu_device();  // backends/cpu/cpu_device.cpp

Result<Device*> get_device(Backend backend) {
  switch (backend) {
    case Backend::kCpu: return cpu_device();
    case Backend::kCuda:
#ifdef KILN_WITH_CUDA
      return cuda_device();
#else
      return unsupported("kiln was built without CUDA (configure with -DKILN_WITH_CUDA=ON)");
#endif
  }
  return invalid_argument("unknown backend " + std::to_string(static_cast<int>(backend)));
}

}  // namespace kiln
