import HTTPTypes
import Hummingbird
import PixelEdgeCore

/// Serves `Public/` (through Hummingbird's `FileMiddleware`) where no route answers, except the console's
/// `admin/` folder, and marks every
/// response `X-Content-Type-Options: nosniff`, so that a browser never reads one as another type.
///
/// A path whose decoded form holds a control character is refused (400) before any file is looked up:
/// the file system stops at a NUL, so `/demo.js%00.html` would read `demo.js` and serve it as HTML.
struct PublicFilesMiddleware<Context: RequestContext, Provider: FileProvider>: RouterMiddleware where Provider.FileAttributes: FileMiddlewareFileAttributes {
    let files: FileMiddleware<Context, Provider>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path.removingPercentEncodingLeniently()
        if path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw APIError(.badRequest, field: "path", "the path holds a control character")
        }
        // `Public/admin/` is the console's: served by its own routes (with their security headers) when the
        // admin API is on, and never as a plain file.
        if path == "/admin" || path.hasPrefix("/admin/") {
            return try await next(request, context)
        }
        var response = try await self.files.handle(request, context: context, next: next)
        response.headers[.xContentTypeOptions] = "nosniff"
        return response
    }
}
