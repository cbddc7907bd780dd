// Minifies what esbuild bundled (standard input) with terser (Debian's node-terser), for Templates/build:
// two compress passes, names mangled inside the bundle's function (never at the top level, where they would
// be the page's globals), which gets a few per cent below esbuild's own minifier
// (2,032 against 2,057 bytes gzipped for the TikTok bundle). Nothing unsafe is assumed of the page (no
// pure getters: document.cookie throws in sandboxed frames).
const { minify } = require("terser");

let source = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (source += chunk));
process.stdin.on("end", async () => {
  const result = await minify(source, { ecma: 2020, compress: { passes: 2 }, mangle: true, format: { comments: false } });
  process.stdout.write(result.code);
});
