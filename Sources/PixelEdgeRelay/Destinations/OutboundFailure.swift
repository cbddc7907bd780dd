import AsyncHTTPClient
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import NIOPosix

/// Why a request to a remote server (a platform's API, a CDN's purge endpoint) got no answer, in words an
/// operator can act on: it ends up in the logs, in a delivery's `last_error` and on the console.
///
/// The errors' own descriptions are written for the libraries' developers: NIO's `IOError` reads
/// `connection reset (error set): Connection refused) (errno: 111)` (its reason, then `strerror` with a
/// stray parenthesis), AsyncHTTPClient's `HTTPClientError.remoteConnectionClosed`. What the error is
/// *about* (refused, reset, a timeout, a closed connection, an answer that is not HTTP) is what is said here.
public enum OutboundFailure {
    /// `answerLimit`: the most bytes of an answer the caller reads, for an answer that was longer.
    public static func describe(_ error: any Error, answerLimit: Int) -> String {
        switch error {
        case let error as IOError:
            return Self.describe(errno: error.errnoCode)
        case let error as SocketAddressError.UnknownHost:
            return "no address for \(error.host) (\(Self.lowercasingFirst(error.errorDescription)), getaddrinfo error \(error.errorCode))"
        case let error as NIOConnectionError:
            if let lookup = error.dnsAError ?? error.dnsAAAAError {
                if lookup is SocketAddressError.UnknownHost { return Self.describe(lookup, answerLimit: answerLimit) }
                return "no address for \(error.host) (\(Self.describe(lookup, answerLimit: answerLimit)))"
            }
            guard !error.connectionErrors.isEmpty else { return "no address for \(error.host)" }
            return error.connectionErrors.map { "\(Self.describe($0.target)): \(Self.describe($0.error, answerLimit: answerLimit))" }.joined(separator: "; ")
        case let error as HTTPClientError:
            return Self.describe(error)
        case is HTTPParserError:
            return "the answer is not HTTP/1.1 (\(error))"
        case is NIOTooManyBytesError:
            return "the answer is over \(answerLimit >> 10) KiB"
        default:
            return "\(error)"
        }
    }

    /// `strerror`'s text, lowercased as the rest of a message, with the number to search for.
    static func describe(errno code: CInt) -> String {
        guard let text = strerror(code).map({ String(cString: $0) }), !text.isEmpty else { return "errno \(code)" }
        return "\(Self.lowercasingFirst(text)) (errno \(code))"
    }

    /// The C library's messages start a sentence; here they continue one.
    private static func lowercasingFirst(_ text: String) -> String {
        text.prefix(1).lowercased() + text.dropFirst()
    }

    /// `127.0.0.1:443`, `[::1]:443`: NIO's own description reads `[IPv4]host/127.0.0.1:443`.
    private static func describe(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    private static func describe(_ error: HTTPClientError) -> String {
        switch error {
        case .remoteConnectionClosed: "the server closed the connection before it answered"
        case .connectTimeout: "the connection was not established in time"
        case .readTimeout: "the server stopped sending its answer"
        case .deadlineExceeded: "no complete answer in time"
        case .tlsHandshakeTimeout: "the TLS handshake did not finish in time"
        case .invalidURL, .emptyHost, .emptyScheme: "the URL is not one this client can call (\(error.shortDescription))"
        default: Self.lowercasingFirst(error.shortDescription)
        }
    }
}
