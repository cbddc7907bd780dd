import Logging
import ServiceLifecycle

/// Tells the operator, at notice level, that a graceful shutdown has begun and what it will wait for:
/// ServiceLifecycle logs its signals at debug level only, so without this line a node that was asked to
/// stop (SIGTERM from systemd or Kubernetes, ^C) says nothing until it has exited.
///
/// It runs beside the application in `PixelEdgeServer.run`'s service group, after it in the list, so that
/// the group, which shuts services down in reverse order, gets here first: the line is written as the
/// shutdown starts, before the server stops accepting.
struct ShutdownNotice: Service {
    let drainTimeout: Duration
    let logger: Logger

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return  // cancelled: the group is ending for another reason (the server could not start), said elsewhere
        }
        self.logger.notice(
            "stopping: no new connections; the requests in flight have until the drain timeout to finish, then the events they were answered for are stored",
            metadata: ["drainTimeout": "\(self.drainTimeout.components.seconds) s"]
        )
    }
}
