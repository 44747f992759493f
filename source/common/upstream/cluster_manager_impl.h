#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/upstream/cluster.h"
#include "common/upstream/cluster_impl.h"

namespace proxy::upstream {

// The clusters of one snapshot: the configured ones, found by name, and the one-endpoint
// clusters of routes' inline targets, which get() does not find (their names may repeat a
// configured cluster's). all() lists both, for the main thread's DNS refresh.
class ClusterManagerImpl final : public ClusterManager {
 public:
  void add(std::shared_ptr<ClusterImpl> cluster) {
    all_.push_back(cluster);
    clusters_[cluster->name()] = std::move(cluster);
  }
  void addTarget(std::shared_ptr<ClusterImpl> cluster) { all_.push_back(std::move(cluster)); }
  const std::vector<std::shared_ptr<ClusterImpl>>& all() const { return all_; }

  // upstream::ClusterManager
  ClusterConstSharedPtr get(std::string_view name) const override {
    auto it = clusters_.find(name);
    return it == clusters_.end() ? nullptr : it->second;
  }

 private:
  std::map<std::string, std::shared_ptr<ClusterImpl>, std::less<>> clusters_;
  std::vector<std::shared_ptr<ClusterImpl>> all_;
};

}  // namespace proxy::upstream
