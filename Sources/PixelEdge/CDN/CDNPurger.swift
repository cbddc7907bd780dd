import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PixelEdgeBundles
import PixelEdgeCore

/// Tells a CDN that a pixel's bundle changed, by its surrogate key (`pixel-<id>`), so that the next request
/// gets the new bundle instead of waiting for `s-maxage` to run out.
///
/// One request per changed pixel: `method url` with `Surrogate-Key: pixel-<id>`, `{key}` in the URL replaced
/// by the key. That is a `PURGE` to Varnish (with the VCL in `Tests/varnish/`), or a `POST` to Fastly's
/// `https://api.fastly.com/service/ID/purge/{key}` with `--purge-header "Fastly-Key: …"`.
public struct CDNPurger: BundlePurger {
    public struct Settings: Sendable {
        public var url: String
        public var method: String
        /// Extra fields, such as an API token: sent, never logged.
        public var headers: [(name: String, value: String)]

        public init(url: String, method: String = "PURGE", headers: [(name: String, value: String)] = []) {
            self.url = url
            self.method = method
            self.headers = headers
        }
    }

    let settings: Settings
    let httpClient: HTTPClient
    let logger: Logger

    public init(settings: Settings, httpClient: HTTPClient = .shared, logger: Logger) {
        self.settings = settings
        self.httpClient = httpClient
        self.logger = logger
    }

    /// Purges every pixel concurrently; failures are logged, not thrown: the bundle is already served by
    /// PixelEdge and the CDN catches up at the end of `s-maxage` anyway.
    public func purge(_ pixels: [PixelID]) async {
        await withTaskGroup(of: Void.self) { group in
            for pixel in pixels {
                group.addTask { await self.purge(pixel) }
            }
        }
    }

    func purge(_ pixel: PixelID) async {
        let key = PreparedBundle.surrogateKey(for: pixel)
        var request = HTTPClientRequest(url: self.settings.url.replacingOccurrences(of: "{key}", with: key))
        request.method = HTTPMethod(rawValue: self.settings.method)
        request.headers.add(name: "Surrogate-Key", value: key)
        for header in self.settings.headers {
            request.headers.add(name: header.name, value: header.value)
        }
        do {
            let response = try await self.httpClient.execute(request, timeout: .seconds(5))
            _ = try await response.body.collect(upTo: 1 << 16)
            if (200..<300).contains(response.status.code) {
                self.logger.info("purged the CDN's copy", metadata: ["pixel": "\(pixel)", "key": "\(key)"])
            } else {
                self.logger.warning("the CDN refused the purge", metadata: ["pixel": "\(pixel)", "status": "\(response.status.code)"])
            }
        } catch {
            self.logger.warning("cannot reach the CDN to purge", metadata: ["pixel": "\(pixel)", "error": "\(error)"])
        }
    }
}
