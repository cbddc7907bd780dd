import Hummingbird
import Testing

@testable import PixelEdgeHTTP

/// The media type a body is checked by (`Request.collectBody`): `type/subtype`, parameters dropped.
@Suite struct MediaTypeTests {
    @Test(arguments: [
        ("text/plain;charset=UTF-8", "text/plain"), ("Application/JSON", "application/json"), (" text/plain ; charset=utf-8", "text/plain"),
        ("\tTEXT/PLAIN\t", "text/plain"), ("", ""), (";charset=utf-8", ""),
        // Letters outside ASCII are not lowered into ASCII ones (Unicode would make the Kelvin sign a `k`), and
        // so match nothing.
        ("text/plaın", "text/plaın"), ("TEXT/PLAİN", "text/plaİn"), ("application/\u{212A}son", "application/\u{212A}son"),
    ])
    func isTheTypeAndSubtypeWithASCIILettersLowered(contentType: String, mediaType: String) {
        #expect(Request.mediaType(of: contentType) == mediaType)
    }
}
