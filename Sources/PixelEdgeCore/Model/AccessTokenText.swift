/// The rule every platform's access token shares (TikTok's, Meta's).
enum AccessTokenText {
    /// A token travels in an HTTP header or a URL's query, so it must be one line of visible ASCII. What is
    /// wrong is said by its position; the character itself is not shown when it is visible (it is part of a
    /// secret). `name` is how the message names the token; shared by every platform's token.
    static func checkOneLineOfPrintableASCII(_ text: String, field: String, name: String) throws(ConfigurationError) {
        for (offset, character) in text.enumerated() {
            if character.isWhitespace {
                throw ConfigurationError(
                    field: field,
                    message: "\(name) contains \(character.nameForMessages) at position \(offset + 1): re-copy the whole token from Events Manager as one line"
                )
            }
            guard let ascii = character.asciiValue, ascii > 0x20, ascii < 0x7F else {
                throw ConfigurationError(
                    field: field,
                    message: "\(name) contains a character that is not printable ASCII at position \(offset + 1): re-copy it from Events Manager"
                )
            }
        }
    }
}
