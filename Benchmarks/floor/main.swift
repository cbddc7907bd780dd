// The floor of `Benchmarks/run`'s hot path: what a bare socket loop costs to answer the same requests
// with the same bytes. One thread, epoll, one `read` per readable connection, one `write` of prepared
// answers per read: no HTTP parsing beyond finding each head's end and the two fields that pick the
// answer. Not a server (no timeouts, no limits, nothing but the benchmark's requests); it shows how far
// PixelEdge's event loop and pipeline are from the two syscalls every answer needs.
//
//     floor PORT GZIP_ANSWER IDENTITY_ANSWER NOT_MODIFIED_ANSWER
//
// Each ANSWER is a file holding a whole HTTP/1.1 response as PixelEdge sent it.
import Glibc

func readFile(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { fatalError("floor: cannot open \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count <= 0 { return bytes }
        bytes += chunk[0..<count]
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 5, let port = UInt16(arguments[1]) else {
    fatalError("usage: floor PORT GZIP_ANSWER IDENTITY_ANSWER NOT_MODIFIED_ANSWER")
}
let (gzip, identity, notModified) = (readFile(arguments[2]), readFile(arguments[3]), readFile(arguments[4]))

let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
var enabled: Int32 = 1
setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &enabled, socklen_t(MemoryLayout<Int32>.size))
var address = sockaddr_in()
address.sin_family = sa_family_t(AF_INET)
address.sin_port = port.bigEndian
address.sin_addr.s_addr = inet_addr("127.0.0.1")
let bound = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
}
guard bound == 0, listen(listener, 1024) == 0 else { fatalError("floor: cannot listen on port \(port)") }

let epoll = epoll_create1(0)
floor_epoll_add(epoll, listener)
let capacity: Int32 = 256
let events = floor_epoll_events(capacity)
var input = [UInt8](repeating: 0, count: 16384)
var output: [UInt8] = []

/// The answer to one head: the benchmark's three scenarios differ by `If-None-Match` and `Accept-Encoding`.
func answer(to head: UnsafeRawBufferPointer) -> [UInt8] {
    func contains(_ text: StaticString) -> Bool {
        let needle = UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        guard head.count >= needle.count else { return false }
        return (0...(head.count - needle.count)).contains { start in
            needle.indices.allSatisfy { head[start + $0] | 0x20 == needle[$0] | 0x20 }
        }
    }
    if contains("\nIf-None-Match:") { return notModified }
    return contains("\nAccept-Encoding: gzip") ? gzip : identity
}

while true {
    let ready = floor_epoll_wait(epoll, events, capacity)
    guard ready > 0 else { continue }
    for index in 0..<ready {
        let fd = floor_epoll_fd(events, index)
        if fd == listener {
            while case let connection = floor_accept(listener), connection >= 0 {
                setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &enabled, socklen_t(MemoryLayout<Int32>.size))
                floor_epoll_add(epoll, connection)
            }
            continue
        }
        let count = input.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else {
            if count == 0 || floor_errno() != EAGAIN { close(fd) }
            continue
        }
        output.removeAll(keepingCapacity: true)
        input.withUnsafeBytes { bytes in
            // Each head ends with CRLF CRLF; wrk writes whole requests, so a read holds whole heads.
            var start = 0
            var index = 3
            while index < count {
                if bytes[index] == 10, bytes[index - 1] == 13, bytes[index - 2] == 10, bytes[index - 3] == 13 {
                    output += answer(to: UnsafeRawBufferPointer(rebasing: bytes[start...index]))
                    start = index + 1
                }
                index += 1
            }
            if start != count { fatalError("floor: a read ended within a head") }
        }
        let written = output.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written != output.count { fatalError("floor: a write was cut short (\(written) of \(output.count) bytes)") }
    }
}
