import HTTPTypes
import Hummingbird

/// Lets a request through to the admin API only with the right bearer token.
struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: AdminToken

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard self.token.authorizes(authorization: request.headers[.authorization]) else {
            let message = request.headers[.authorization] == nil
                ? "missing Authorization: send \"Authorization: Bearer $PIXELEDGE_ADMIN_TOKEN\""
                : "wrong admin token"
            throw APIError(.unauthorized, message, headers: [.wwwAuthenticate: "Bearer realm=\"PixelEdge admin\""])
        }
        return try await next(request, context)
    }
}
