import Hummingbird
public import Logging
import Synchronization

/// Request logging, sampled: one request in `every` is logged (`--log-requests RATE`; off by default, a
/// log line per request costs more than the request on the fast path). Each line has the method, the path
/// without its query, the status and the time taken: never a query, an address, a User-Agent or a body,
/// which may carry personal data. Both paths log through it: Hummingbird's (`RequestLogMiddleware`) and the
/// bundle fast path.
public final class RequestLog: Sendable {
    /// 1 in `every` requests is logged; 0: none.
    public let every: Int
    private let seen = Atomic<Int>(0)
    let logger: Logger

    /// `rate` from 0 (off) to 1 (every request).
    public init(rate: Double, logger: Logger) {
        self.every = rate <= 0 ? 0 : max(1, Int((1 / min(rate, 1)).rounded()))
        self.logger = logger
    }

    /// Whether this request is one of those logged; no shared write while logging is off.
    @inline(__always)
    func isSampled() -> Bool {
        guard self.every > 0 else { return false }
        return self.seen.wrappingAdd(1, ordering: .relaxed).oldValue % self.every == 0
    }

    func log(method: String, path: Substring, status: Int, duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let milliseconds = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        self.logger.info(
            "request",
            metadata: [
                "method": "\(method)", "path": "\(path)", "status": "\(status)",
                "durationMs": "\((milliseconds * 1000).rounded() / 1000)",
            ]
        )
    }
}

/// Logs the sampled requests Hummingbird answers, errors included (with the status they are answered with).
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let log: RequestLog

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard self.log.isSampled() else { return try await next(request, context) }
        let started = ContinuousClock.now
        let path = request.uri.path[...]
        do {
            let response = try await next(request, context)
            self.log.log(method: request.method.rawValue, path: path, status: response.status.code, duration: ContinuousClock.now - started)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            self.log.log(method: request.method.rawValue, path: path, status: status, duration: ContinuousClock.now - started)
            throw error
        }
    }
}
