#include <kiln/builder.h>

namespace kiln {

void OptimizationProfile::set_shape(std::string input_name, Dims min, Dims opt, Dims max) {
  ranges_[std::move(input_name)] = Range{min, opt, max};
}

const OptimizationProfile::Range* OptimizationProfile::shape(std::string_view input_name) const {
  auto it = ranges_.find(input_name);
  return it == ranges_.end() ? nullptr : &it->second;
}

Status OptimizationProfile::validate() const {
  for (const auto& [name, r] : ranges_) {
    if (r.min.rank() != r.opt.rank() || r.opt.rank() != r.max.rank()) {
      return invalid_argument("profile range of input '" + name + "': min " + r.min.to_string() +
                              ", opt " + r.opt.to_string() + " and max " + r.max.to_string() +
                              " have different ranks");
    }
    for (int d = 0; d < r.min.rank(); ++d) {
      if (r.min[d] < 0 || r.min[d] > r.opt[d] || r.opt[d] > r.max[d]) {
        return invalid_argument("profile range of input '" + name + "' in dim " +
                                std::to_string(d) + " needs 0 <= min <= opt <= max, got min " +
                                r.min.to_string() + ", opt " + r.opt.to_string() + ", max " +
                                r.max.to_string());
      }
    }
  }
  return Status::ok();
}

}  // namespace kiln
