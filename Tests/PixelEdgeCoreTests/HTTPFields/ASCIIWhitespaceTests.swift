import Testing

@testable import PixelEdgeCore

/// Optional whitespace (RFC 9110 §5.6.3) around a field's parts: spaces and tabs only, read on the bytes.
@Suite struct ASCIIWhitespaceTests {
    @Test(arguments: [
        ("  gzip\t", "gzip"), ("br", "br"), ("", ""), (" \t ", ""), ("\t a b \t", "a b"),
        // Characters of several bytes at either end are kept whole.
        ("  é ", "é"), ("é", "é"), (" 😀x😀 ", "😀x😀"), ("\u{A0}x\u{A0}", "\u{A0}x\u{A0}"),
        // A combining mark after a space starts what is kept (it is not whitespace).
        (" \u{301}e ", "\u{301}e"),
        // Other whitespace is not optional whitespace in HTTP: kept.
        ("\nx\r", "\nx\r"),
    ])
    func trimsSpacesAndTabsOnly(text: String, trimmed: String) {
        #expect(text.trimmingASCIIWhitespace() == trimmed)
        #expect(Array(text.trimmingASCIIWhitespace().utf8) == Array(trimmed.utf8))
    }
}
