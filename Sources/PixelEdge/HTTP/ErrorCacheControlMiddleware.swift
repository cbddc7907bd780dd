import HTTPTypes
import Hummingbird

/// Makes every 4xx and 5xx say how long it may be kept (`no-store` unless the responder chose), so that no
/// cache keeps an error longer than intended.
struct ErrorCacheControlMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        if response.status.code >= 400, response.headers[.cacheControl] == nil {
            response.headers[.cacheControl] = "no-store"
        }
        return response
    }
}
