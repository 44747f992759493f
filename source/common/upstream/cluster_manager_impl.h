#pragma once

#include <map>
#include <string>
#include <string_view>

#include "api/upstream/cluster.h"

namespace proxy::upstream {

// The clusters of one snapshot, by name.
class ClusterManagerImpl final : public ClusterManager {
 public:
  void add(ClusterConstSharedPtr cluster) { clusters_[cluster->name()] = std::move(cluster); }

  // upstream::ClusterManager
  ClusterConstSharedPtr get(std::string_view name) const override {
    auto it = clusters_.find(name);
    return it == clusters_.end() ? nullptr : it->second;
  }

 private:
  std::map<std::string, ClusterConstSharedPtr, std::less<>> clusters_;
};

}  // namespace proxy::upstream
