import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import PixelEdgeCore

/// `RequestHeadScanner` against NIO's HTTP/1 decoder, the parser it stands beside: every whole request the
/// scanner reads (the only heads `BundleHeadReader` answers or cuts from what follows), NIO reads alike (method, target, version, fields), as exactly one request that ends where the
/// scanner says (the request after it is read as such), and a plain head cut short is nothing yet to NIO
/// either. The cases are the scanner's rules and some thousands of mutations of real heads; the fuzz
/// target `FuzzRequestHead` does the same, guided by coverage, in `Tests/fuzz`.
@Suite struct RequestHeadAgreementTests {
    static let heads = [
        "GET /p/shop/pb.js HTTP/1.1\r\nHost: edge.example\r\nAccept-Encoding: gzip, br\r\nIf-None-Match: \"g-1\"\r\n\r\n",
        "HEAD /pb.js?id=shop HTTP/1.1\r\nhost: a\r\nConnection: keep-alive\r\nUser-Agent: Mozilla/5.0 (X11)\r\n\r\n",
        "POST /collect HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}",
        "GET /x HTTP/1.0\r\nX:\r\nY: \t \r\n\r\n",
    ]

    /// What NIO's decoder makes of `bytes`: the heads and ends it read, or the error it stopped at.
    static func nioReading(_ bytes: [UInt8]) -> (heads: [HTTPRequestHead], ends: Int, failed: Bool) {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
        defer { _ = try? channel.finish() }
        var heads: [HTTPRequestHead] = []
        var ends = 0
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
            while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
                switch part {
                case .head(let head): heads.append(head)
                case .body: break
                case .end: ends += 1
                }
            }
        } catch {
            return (heads, ends, true)
        }
        return (heads, ends, false)
    }

    /// Fails the test when the scanner and NIO read `bytes` differently.
    static func checkAgreement(_ bytes: [UInt8]) {
        var fields: [(String, String)] = []
        let (outcome, target) = bytes.withUnsafeBytes { buffer -> (RequestHeadScanner.Outcome, String) in
            let outcome = RequestHeadScanner.scan(buffer) { _, name, value in
                fields.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            }
            guard case .head(let head) = outcome else { return (outcome, "") }
            return (outcome, String(decoding: UnsafeRawBufferPointer(rebasing: buffer[head.target]), as: UTF8.self))
        }
        let text = String(decoding: bytes, as: UTF8.self).debugDescription
        switch outcome {
        case .notPlain:
            return
        case .incomplete:
            let nio = Self.nioReading(bytes)
            #expect(nio.heads.isEmpty && !nio.failed, "a plain head cut short: \(text)")
        case .head(let head) where !head.isWholeRequest:
            // Never answered nor cut from what follows: the decoder reads it and the rest of the connection.
            return
        case .head(let head):
            let probe = Array("GET /probe HTTP/1.1\r\nHost: p\r\n\r\n".utf8)
            let nio = Self.nioReading(Array(bytes[..<head.length]) + probe)
            guard !nio.failed, nio.heads.count == 2, nio.ends == 2, let read = nio.heads.first else {
                Issue.record("NIO did not read \(text) as one request then the probe: \(nio)")
                return
            }
            #expect(nio.heads[1].uri == "/probe", "\(text)")
            #expect(read.uri == target, "\(text)")
            #expect(read.version == (head.minorVersion == 1 ? .http1_1 : .http1_0), "\(text)")
            switch head.method {
            case .get: #expect(read.method == .GET, "\(text)")
            case .head: #expect(read.method == .HEAD, "\(text)")
            case .other: #expect(read.method != .GET && read.method != .HEAD, "\(text)")
            }
            #expect(read.headers.map { [$0.name, $0.value] } == fields.map { [$0.0, $0.1] }, "\(text)")
            if head.isPlainHTTP11Request { #expect(read.isKeepAlive, "\(text)") }
        }
    }

    @Test(arguments: Self.heads)
    func theScannerAndNIOReadRealHeadsAlike(_ head: String) {
        let bytes = Array(head.utf8)
        for end in 0...bytes.count {
            Self.checkAgreement(Array(bytes[..<end]))
        }
    }

    /// Seeded, so that a failure repeats: each mutation puts an awkward byte (or deletes one) at a random
    /// place of a real head.
    @Test(arguments: Self.heads)
    func theScannerAndNIOReadMutatedHeadsAlike(_ head: String) {
        var random = SplitMix64(seed: UInt64(head.utf8.count))
        let awkward: [UInt8] = Array(" \t\r\n:/?#%\"\\,;=()<>@[]{}|^`~!$&'*+-._0aAzZ\u{7f}".utf8) + [0, 0x80, 0xC3, 0xA9, 0xFF, 0x0B, 0x0C]
        let original = Array(head.utf8)
        for _ in 0..<3000 {
            var bytes = original
            for _ in 0..<(1 + Int(random.next() % 3)) {
                let index = Int(random.next() % UInt64(bytes.count + 1))
                switch random.next() % 3 {
                case 0 where index < bytes.count: bytes.remove(at: index)
                case 1 where index < bytes.count: bytes[index] = awkward[Int(random.next() % UInt64(awkward.count))]
                default: bytes.insert(awkward[Int(random.next() % UInt64(awkward.count))], at: index)
                }
            }
            Self.checkAgreement(bytes)
        }
    }
}

/// A small seeded generator (Steele, Lea and Flood's SplitMix64), so that mutations repeat run to run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
