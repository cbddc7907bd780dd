import Foundation
import NIOCore

/// The CPUs this process may run on. `taskset -c 0 pixel-edge serve` gets one event loop, not one per CPU
/// of the machine: two loops sharing one CPU take turns by the scheduler's time slice, which shows as
/// milliseconds of tail latency.
enum ProcessorAffinity {
    static var count: Int {
        // Linux reports the affinity mask in /proc/self/status, e.g. "Cpus_allowed_list:\t0,2-3".
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }),
            let list = line.split(separator: ":", maxSplits: 1).last
        {
            let count = list.trimmingCharacters(in: .whitespaces).split(separator: ",").reduce(0) { total, range in
                let bounds = range.split(separator: "-").compactMap { Int($0) }
                return total + (bounds.count == 2 ? bounds[1] - bounds[0] + 1 : bounds.count)
            }
            if count > 0 { return min(count, System.coreCount) }
        }
        return System.coreCount
    }
}
