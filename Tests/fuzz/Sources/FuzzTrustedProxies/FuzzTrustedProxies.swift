import FuzzSupport
import PixelEdgeCore

/// `--trusted-proxy` ranges and `X-Forwarded-For` chains: the input's first line is a list of ranges, the
/// second the peer, the rest the forwarded-for values. No trap; a client address, when there is one, is an
/// address the parser reads back.
@main
enum Main {
    static func main() { runFuzzer(fuzzTrustedProxies) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTrustedProxies(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let ranges = lines.isEmpty ? [] : lines.removeFirst().split(separator: " ").map(String.init)
    let peer = lines.isEmpty ? nil : lines.removeFirst()
    guard let proxies = try? TrustedProxies(cidrs: ranges) else { return 0 }
    if let client = proxies.clientAddress(peer: peer, forwardedFor: lines) {
        precondition(IPAddress(client) != nil, "\(client) is not an address")
        precondition(IPAddress(client)?.description == client, "\(client) does not read back as itself")
    }
    return 0
}
