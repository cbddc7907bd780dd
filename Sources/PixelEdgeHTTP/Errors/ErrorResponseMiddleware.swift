import HTTPTypes
import Hummingbird
import Logging
import PixelEdgeCore

/// Turns every error into a response that says what went wrong, and makes every 4xx and 5xx say how long
/// it may be kept (`no-store` unless the responder chose), so that no cache keeps an error longer than
/// intended.
///
/// Domain errors render themselves (`DomainErrors+HTTP.swift`); a store failure is also logged. Any other
/// error that no handler answered is a 500, logged with the request's method and path, never an empty body.
struct ErrorResponseMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as StoreError {
            // Worth an operator's attention; the answer is the error's own (`StoreError: HTTPResponseError`).
            self.logger.error("store failure", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(error)"])
            response = try error.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            self.logger.error("request failed", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(error)"])
            response = try APIError(.internalServerError, "internal error: the server's log has the details").response(from: request, context: context)
        }
        if response.status.code >= 400, response.headers[.cacheControl] == nil {
            response.headers[.cacheControl] = "no-store"
        }
        return response
    }
}
