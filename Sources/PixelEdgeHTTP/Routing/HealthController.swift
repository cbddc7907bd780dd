import Hummingbird
import Logging
import NIOCore
import PixelEdgeBundles
import PixelEdgeCore
import PixelEdgeRelay

/// The checks a load balancer or an orchestrator asks, GET or HEAD, without authentication: so they say what
/// is wrong in general words (`StoreError.Reason.summary`), never the database's path, host, port, user or
/// name; the log has the details.
/// - `/healthz`, liveness: 200 while the store can be read and bundles are served; 503 when it cannot be
///   read, or when its file was deleted or replaced, which only a restart mends.
/// - `/readyz`, readiness for events: 200 while the store takes writes, 503 (with the reason) when it does
///   not, as found by the last write or probe: `/collect` would answer 503 too, so send events elsewhere.
///   Bundles are still served from memory then, which is why `/healthz` stays 200.
struct HealthController<Context: RequestContext> {
    let store: any PixelStore
    let health: StoreHealth
    let cache: BundleCache
    let updater: BundleCacheUpdater

    func addRoutes(to router: Router<Context>) {
        router.get("healthz", use: self.liveness)
        router.head("healthz", use: self.liveness)
        router.get("readyz", use: self.readiness)
        router.head("readyz", use: self.readiness)
    }

    @Sendable func liveness(_ request: Request, context: Context) async throws -> Response {
        if let problem = self.health.currentProblem, problem.reason.isPermanent {
            return Self.text(.serviceUnavailable, "restart needed: \(problem.reason.summary)", for: request)
        }
        do {
            try await self.store.checkReadable()
        } catch {
            context.logger.error("the store cannot be read", metadata: ["error": "\(error)"])
            let summary = (error as? StoreError)?.reason.summary ?? "database unreachable"
            return Self.text(.serviceUnavailable, "store unreadable: \(summary) (the server's log has the details)", for: request)
        }
        var text = "ok: \(Self.counted(self.updater.directory.count, "pixel")), \(Self.counted(self.cache.count, "bundle")) cached"
        if let problem = self.health.currentProblem {
            text += "; events not accepted: \(problem.reason.rawValue) (see /readyz)"
        }
        return Self.text(.ok, text, for: request)
    }

    @Sendable func readiness(_ request: Request, context: Context) async throws -> Response {
        guard let problem = self.health.currentProblem else {
            return Self.text(.ok, "ready: the store takes events", for: request)
        }
        return Self.text(.serviceUnavailable, "not ready: \(problem.reason.rawValue): \(problem.reason.summary)", for: request)
    }

    /// `1 pixel`, `2 pixels`: the line is read by people as much as by checks (which look for `ok:`).
    static func counted(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }

    private static func text(_ status: HTTPResponse.Status, _ text: String, for request: Request) -> Response {
        let body = ByteBuffer(string: text + "\n")
        return Response(
            status: status,
            headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store", .contentLength: String(body.readableBytes)],
            body: request.method == .head ? .init() : .init(byteBuffer: body)
        )
    }
}
