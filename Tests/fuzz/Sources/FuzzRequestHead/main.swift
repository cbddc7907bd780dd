import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import PixelEdgeCore

/// The fast path's `RequestHeadScanner` against NIO's HTTP/1 decoder: every whole request the scanner reads
/// (what `BundleHeadReader` answers or cuts from what follows), NIO must read as exactly one request with the same method, target, version and fields, ending where the
/// scanner says (a request after it is read as such); a plain head cut short must be nothing yet to NIO.
/// A difference would let the fast path answer bytes that Hummingbird's path reads otherwise.
runFuzzer(fuzzRequestHead)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestHead(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var fields: [[UInt8]] = []
    let (outcome, target) = bytes.withUnsafeBytes { buffer -> (RequestHeadScanner.Outcome, String) in
        let outcome = RequestHeadScanner.scan(buffer) { _, name, value in
            fields.append(Array(name) + [UInt8(ascii: "=")] + Array(value))
        }
        guard case .head(let head) = outcome else { return (outcome, "") }
        return (outcome, String(decoding: UnsafeRawBufferPointer(rebasing: buffer[head.target]), as: UTF8.self))
    }
    switch outcome {
    case .notPlain:
        break
    case .incomplete:
        let nio = nioReading(bytes)
        precondition(nio.heads.isEmpty && !nio.failed, "a plain head cut short, read or refused by NIO")
    case .head(let head) where !head.isWholeRequest:
        // Never answered nor cut from what follows: the decoder reads it and the rest of the connection.
        break
    case .head(let head):
        let nio = nioReading(Array(bytes[..<head.length]) + Array("GET /probe HTTP/1.1\r\nHost: p\r\n\r\n".utf8))
        precondition(!nio.failed && nio.heads.count == 2 && nio.ends == 2 && nio.heads[1].uri == "/probe", "NIO did not read one request, then the probe")
        let read = nio.heads[0]
        precondition(read.uri == target)
        precondition(read.version == (head.minorVersion == 1 ? .http1_1 : .http1_0))
        switch head.method {
        case .get: precondition(read.method == .GET)
        case .head: precondition(read.method == .HEAD)
        case .other: precondition(read.method != .GET && read.method != .HEAD)
        }
        precondition(read.headers.map { Array($0.name.utf8) + [UInt8(ascii: "=")] + Array($0.value.utf8) } == fields)
        if head.isPlainHTTP11Request { precondition(read.isKeepAlive) }
    }
    return 0
}

func nioReading(_ bytes: [UInt8]) -> (heads: [HTTPRequestHead], ends: Int, failed: Bool) {
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
