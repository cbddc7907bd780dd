#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as its bytes, parsed with `inet_pton`.
public struct IPAddress: Equatable, Sendable, CustomStringConvertible {
    let bytes: [UInt8]

    public init?(_ text: some StringProtocol) {
        var text = String(text).trimmingASCIIWhitespace()
        if text.hasPrefix("["), let end = text.firstIndex(of: "]") {
            text = text[text.index(after: text.startIndex)..<end]
        }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, String(text), &v4) == 1 {
            self.bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, String(text), &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            // An IPv4 client on a dual-stack socket appears as ::ffff:a.b.c.d; TikTok wants a.b.c.d.
            self.bytes = bytes.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] ? Array(bytes.suffix(4)) : bytes
        } else {
            return nil
        }
    }

    public var description: String {
        var output = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var bytes = self.bytes
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard inet_ntop(family, &bytes, &output, socklen_t(output.count)) != nil else { return "?" }
        return String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// `--trusted-proxy` ranges: `X-Forwarded-For` is believed only from these peers.
public struct TrustedProxies: Sendable {
    struct Range: Sendable {
        let network: [UInt8]
        let prefixLength: Int

        func contains(_ address: IPAddress) -> Bool {
            guard address.bytes.count == self.network.count else { return false }
            var remaining = self.prefixLength
            for (a, b) in zip(address.bytes, self.network) where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if a & mask != b & mask { return false }
                remaining -= bits
            }
            return true
        }
    }

    let ranges: [Range]

    public static let none = TrustedProxies(ranges: [])

    init(ranges: [Range]) {
        self.ranges = ranges
    }

    /// Parses CIDRs such as `10.0.0.0/8`, `::1/128` or a single address; the message says which is wrong.
    public init(cidrs: [String]) throws(ConfigurationError) {
        self.ranges = try cidrs.map { (cidr: String) throws(ConfigurationError) -> Range in
            let parts = cidr.split(separator: "/", maxSplits: 1)
            guard let address = parts.first.flatMap({ IPAddress($0) }) else {
                throw ConfigurationError(field: "--trusted-proxy", message: "\"\(cidr)\" is not an IP address or CIDR range (such as 10.0.0.0/8)")
            }
            let maximum = address.bytes.count * 8
            let prefix = parts.count == 2 ? Int(parts[1]) : maximum
            guard let prefix, (0...maximum).contains(prefix) else {
                throw ConfigurationError(field: "--trusted-proxy", message: "\"\(cidr)\" has a prefix length outside 0...\(maximum)")
            }
            return Range(network: address.bytes, prefixLength: prefix)
        }
    }

    public func trusts(_ address: IPAddress) -> Bool {
        self.ranges.contains { $0.contains(address) }
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy, in which case the nearest
    /// address in `X-Forwarded-For` that is not itself a trusted proxy (the right-most untrusted hop).
    public func clientAddress(peer: String?, forwardedFor: [String]) -> String? {
        guard let peer = peer.flatMap({ IPAddress($0) }) else { return nil }
        guard self.trusts(peer) else { return peer.description }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.compactMap { IPAddress($0) }
        var client = peer
        for hop in hops.reversed() {
            client = hop
            if !self.trusts(hop) { break }
        }
        return client.description
    }
}
