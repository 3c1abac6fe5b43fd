// Debian's headless Chromium (package `chromium`, installed by `make deps`), driven through its
// command line: a screenshot, the DOM after loading, and the console messages Chromium logs with
// --enable-logging=stderr. No browser download, no CDP library. Plus a small PNG reader, so a test
// can count the pixels of a colour in the screenshot (8-bit RGB/RGBA, as Chromium writes them).
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.RegularExpressions;
using CliWrap;
using CliWrap.Buffered;

namespace Harness.Tests.Support;

public sealed record ChromiumPage(string Dom, IReadOnlyList<string> ConsoleMessages, IReadOnlyList<string> ConsoleErrors, string Screenshot);

public static partial class Chromium
{
    public static string? Binary => new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);

    /// <summary>Loads <paramref name="htmlFile"/> twice (DOM, then screenshot to <paramref name="screenshot"/>), offline.</summary>
    public static async Task<ChromiumPage> OpenAsync(string htmlFile, string screenshot, CancellationToken cancellationToken = default)
    {
        var binary = Binary ?? throw new InvalidOperationException("chromium is not installed: `make deps` (apt-get install chromium)");
        var profile = Path.Combine(Path.GetTempPath(), $"chromium-profile-{Guid.NewGuid():N}");
        try
        {
            // No network at all: a report that tried to fetch anything would log an error.
            string[] common = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-extensions",
                $"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--proxy-server=http://127.0.0.1:9", "--window-size=1000,1800"];
            var url = new Uri(Path.GetFullPath(htmlFile)).AbsoluteUri;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(120));
            var dom = await CliWrap.Cli.Wrap(binary).WithArguments([.. common, "--dump-dom", url]).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(timeout.Token);
            var shot = await CliWrap.Cli.Wrap(binary).WithArguments([.. common, $"--screenshot={screenshot}", url]).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(timeout.Token);
            var messages = ConsoleLine().Matches(dom.StandardError + "\n" + shot.StandardError).Select(m => m.Value.Trim()).ToArray();
            // Chromium logs every console message at INFO ("INFO:CONSOLE:1] \"Uncaught ReferenceError: ...\""), whatever
            // its level: a report without script has none, so each one is an error (an uncaught exception, console.error, a failed load).
            var errors = messages;
            if (!File.Exists(screenshot))
                throw new InvalidOperationException($"chromium wrote no screenshot (exit {shot.ExitCode}): {shot.StandardError}");
            return new ChromiumPage(dom.StandardOutput, messages, errors, screenshot);
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { /* best effort */ }
        }
    }

    [GeneratedRegex(@"^.*:CONSOLE(:\d+)?\].*$", RegexOptions.Multiline)]
    private static partial Regex ConsoleLine();
}

/// <summary>An 8-bit RGB or RGBA PNG, decoded (non-interlaced, as Chromium writes screenshots).</summary>
public sealed class PngImage
{
    public int Width { get; }
    public int Height { get; }
    private readonly byte[] _rgb;

    public PngImage(string path)
    {
        var data = File.ReadAllBytes(path);
        if (!data.AsSpan(0, 8).SequenceEqual(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 })) throw new InvalidDataException($"{path}: not a PNG");
        var idat = new MemoryStream();
        int colourType = 0, bitDepth = 0;
        for (var at = 8; at < data.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(at));
            var type = System.Text.Encoding.ASCII.GetString(data, at + 4, 4);
            var body = data.AsSpan(at + 8, length);
            if (type == "IHDR")
            {
                Width = BinaryPrimitives.ReadInt32BigEndian(body);
                Height = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
                (bitDepth, colourType) = (body[8], body[9]);
                if (body[12] != 0) throw new InvalidDataException($"{path}: interlaced PNG");
            }
            else if (type == "IDAT") idat.Write(body);
            at += 12 + length;
        }
        if (bitDepth != 8 || colourType is not (2 or 6)) throw new InvalidDataException($"{path}: colour type {colourType}, depth {bitDepth} not read here");
        var bpp = colourType == 6 ? 4 : 3;
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        var bytes = raw.ToArray();
        var stride = Width * bpp;
        var pixels = new byte[Height * stride];
        for (var y = 0; y < Height; y++)
        {
            var filter = bytes[y * (stride + 1)];
            var line = bytes.AsSpan(y * (stride + 1) + 1, stride);
            for (var x = 0; x < stride; x++)
            {
                int a = x >= bpp ? pixels[y * stride + x - bpp] : 0, b = y > 0 ? pixels[(y - 1) * stride + x] : 0, c = x >= bpp && y > 0 ? pixels[(y - 1) * stride + x - bpp] : 0;
                var predicted = filter switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2, 4 => Paeth(a, b, c), _ => throw new InvalidDataException($"filter {filter}") };
                pixels[y * stride + x] = (byte)(line[x] + predicted);
            }
        }
        _rgb = new byte[Width * Height * 3];
        for (var i = 0; i < Width * Height; i++) Array.Copy(pixels, i * bpp, _rgb, i * 3, 3);
    }

    /// <summary>Pixels of exactly this colour ("#d62728").</summary>
    public int Count(string hex)
    {
        var (r, g, b) = (Convert.ToByte(hex[1..3], 16), Convert.ToByte(hex[3..5], 16), Convert.ToByte(hex[5..7], 16));
        var n = 0;
        for (var i = 0; i < _rgb.Length; i += 3)
            if (_rgb[i] == r && _rgb[i + 1] == g && _rgb[i + 2] == b) n++;
        return n;
    }

    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        var (pa, pb, pc) = (Math.Abs(p - a), Math.Abs(p - b), Math.Abs(p - c));
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
