#include "admin/prometheus_exposition.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <prometheus/text_serializer.h>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

namespace proxy::admin {
namespace {

prometheus::MetricType toPrometheusType(stats::MetricType type) {
  switch (type) {
    case stats::MetricType::kCounter:
      return prometheus::MetricType::Counter;
    case stats::MetricType::kGauge:
      return prometheus::MetricType::Gauge;
    case stats::MetricType::kHistogram:
      return prometheus::MetricType::Histogram;
  }
  return prometheus::MetricType::Untyped;
}

prometheus::MetricFamily gaugeFamily(const char* name, const char* help, double value,
                                     prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily family{name, help, type, {}};
  prometheus::ClientMetric& metric = family.metric.emplace_back();
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return family;
}

// The fields of /proc/self/stat after the command name, which may itself hold spaces and
// parentheses: element 0 is field 3 (state) of proc(5).
std::vector<std::string> readSelfStat() {
  std::ifstream in("/proc/self/stat");
  std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = line.rfind(')');
  if (close == std::string::npos) {
    return {};
  }
  std::istringstream fields(line.substr(close + 1));
  return {std::istream_iterator<std::string>(fields), std::istream_iterator<std::string>()};
}

// proc(5) field number to readSelfStat() index.
constexpr size_t statField(size_t field) { return field - 3; }

// -1 when the directory cannot be read.
int countOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) {
    return -1;
  }
  // The directory stream holds a descriptor of its own, which is not the process's.
  std::string own_fd = std::to_string(dirfd(dir));
  int count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.' && own_fd != entry->d_name) {
      ++count;
    }
  }
  closedir(dir);
  return count;
}

std::string escapeHelp(const std::string& help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::vector<prometheus::MetricFamily> StatsCollector::Collect() const {
  std::vector<stats::FamilySnapshot> snapshot = store_.snapshot();
  std::vector<prometheus::MetricFamily> out;
  out.reserve(snapshot.size());
  for (stats::FamilySnapshot& family : snapshot) {
    if (family.name.starts_with("__")) {
      continue;  // internal (api/stats/stats.h): kept for computed values, never exposed
    }
    prometheus::MetricFamily& converted = out.emplace_back();
    converted.name = std::move(family.name);
    converted.help = std::move(family.help);
    converted.type = toPrometheusType(family.type);
    converted.metric.reserve(family.metrics.size());
    for (stats::MetricSnapshot& sample : family.metrics) {
      prometheus::ClientMetric& metric = converted.metric.emplace_back();
      metric.label.reserve(sample.labels.size());
      for (auto& [name, value] : sample.labels) {
        metric.label.push_back({std::move(name), std::move(value)});
      }
      switch (family.type) {
        case stats::MetricType::kCounter:
          metric.counter.value = sample.value;
          break;
        case stats::MetricType::kGauge:
          metric.gauge.value = sample.value;
          break;
        case stats::MetricType::kHistogram: {
          const stats::HistogramValue& histogram = sample.histogram;
          metric.histogram.sample_count = histogram.count;
          metric.histogram.sample_sum = histogram.sum;
          metric.histogram.bucket.reserve(histogram.cumulative.size());
          for (size_t i = 0; i < histogram.cumulative.size(); ++i) {
            double bound = i < histogram.bounds.size() ? histogram.bounds[i]
                                                       : std::numeric_limits<double>::infinity();
            metric.histogram.bucket.push_back({histogram.cumulative[i], bound});
          }
          break;
        }
      }
    }
  }
  return out;
}

ProcessCollector::ProcessCollector() : clock_ticks_per_second_(sysconf(_SC_CLK_TCK)) {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      in >> boot_time_seconds_;
      break;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  std::vector<std::string> stat = readSelfStat();
  auto field = [&stat](size_t number) {
    return std::strtod(stat[statField(number)].c_str(), nullptr);
  };
  if (stat.size() > statField(24) && clock_ticks_per_second_ > 0) {
    double ticks = static_cast<double>(clock_ticks_per_second_);
    out.push_back(gaugeFamily("process_cpu_seconds_total",
                              "Total user and system CPU time spent in seconds.",
                              (field(14) + field(15)) / ticks, prometheus::MetricType::Counter));
    out.push_back(gaugeFamily("process_resident_memory_bytes", "Resident memory size in bytes.",
                              field(24) * static_cast<double>(sysconf(_SC_PAGESIZE))));
    out.push_back(
        gaugeFamily("process_virtual_memory_bytes", "Virtual memory size in bytes.", field(23)));
    if (boot_time_seconds_ >= 0) {
      out.push_back(gaugeFamily("process_start_time_seconds",
                                "Start time of the process since unix epoch in seconds.",
                                boot_time_seconds_ + field(22) / ticks));
    }
  }
  int open_fds = countOpenFds();
  if (open_fds >= 0) {
    out.push_back(gaugeFamily("process_open_fds", "Number of open file descriptors.", open_fds));
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    out.push_back(gaugeFamily("process_max_fds", "Maximum number of open file descriptors.",
                              static_cast<double>(limit.rlim_cur)));
  }
  return out;
}

std::string renderPrometheusText(
    const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables) {
  std::vector<prometheus::MetricFamily> families;
  for (const auto& collectable : collectables) {
    std::vector<prometheus::MetricFamily> collected = collectable->Collect();
    for (prometheus::MetricFamily& family : collected) {
      family.help = escapeHelp(family.help);
      families.push_back(std::move(family));
    }
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace proxy::admin
