// fio job files as cases (`--case job.fio`): the small ini subset that describes one libaio,
// O_DIRECT write job, read into the one case schema. Anything fio would do that the harness
// cannot judge or reproduce is an error naming file:line and the option, never ignored:
// a job that silently ran a different workload would make the bench comparison a lie.
// fio's own syntax: https://fio.readthedocs.io/en/latest/fio_doc.html#job-file-format
using System.Globalization;
using System.Text;
using Harness.Yaml;

namespace Harness.Cases;

/// <summary>One <c>key=value</c> line of a job file (Value null for a bare flag such as <c>thread</c>).</summary>
public sealed record FioOption(string Key, string? Value, int Line, string Section);

/// <summary>
/// A job file split into its [global] options, its one job section, and the harness's own
/// settings, which live in comments (<c>; harness: dirty-free-space=64MiB</c>) so that fio
/// runs the very same file untouched.
/// </summary>
public sealed record FioJobFile(string File, string JobName, int JobLine, IReadOnlyList<FioOption> Options, IReadOnlyList<FioOption> HarnessSettings)
{
    /// <summary>The option as the job sees it: its own section wins over [global].</summary>
    public FioOption? Effective(string key) =>
        Options.LastOrDefault(o => o.Key == key && o.Section != "global") ?? Options.LastOrDefault(o => o.Key == key);
}

/// <summary>Reads the ini syntax: sections, <c>key=value</c>, <c>;</c> and <c>#</c> comment lines.</summary>
public static class FioJobParser
{
    /// <summary>Comment lines starting with this carry harness settings fio does not have.</summary>
    public const string HarnessPrefix = "harness:";

    /// <summary>Longest line read; a job file line is a few dozen characters.</summary>
    private const int MaxLineLength = 4096;

    /// <summary>True when the text looks like an fio job file: its first line that is not blank or a comment opens a section.</summary>
    public static bool LooksLikeJobFile(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is ';' or '#') continue;
            return line[0] == '[';
        }
        return false;
    }

    public static FioJobFile Parse(string file, string text)
    {
        var problems = new List<InputProblem>();
        if (text.Length > YamlFields.MaxBytes)
            throw new InputException(new InputProblem(file, 0, 0, "(file)", $"{text.Length} characters is over the limit of {YamlFields.MaxBytes} for an input file"));
        if (text.IndexOf('\0') is var nul and >= 0)
            throw new InputException(new InputProblem(file, LineOf(text, nul), 1, "(file)", "contains NUL bytes: not a text fio job file"));

        var options = new List<FioOption>();
        var settings = new List<FioOption>();
        string? section = null, job = null;
        var jobLine = 0;
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var number = i + 1;
            var line = lines[i].TrimEnd('\r').Trim();
            if (line.Length > MaxLineLength)
            {
                problems.Add(new InputProblem(file, number, 1, "(line)", $"{line.Length} characters is over the limit of {MaxLineLength} for one line"));
                continue;
            }
            if (line.Length == 0) continue;
            if (line[0] is ';' or '#')
            {
                var comment = line[1..].Trim();
                if (comment.StartsWith(HarnessPrefix, StringComparison.Ordinal))
                    settings.Add(KeyValue(comment[HarnessPrefix.Length..].Trim(), number, section ?? "global"));
                continue;
            }
            if (line[0] == '[')
            {
                if (!line.EndsWith(']') || line.Length < 3)
                {
                    problems.Add(new InputProblem(file, number, 1, "(section)", $"'{line}' is not a section header like [global] or [job-name]"));
                    continue;
                }
                section = line[1..^1].Trim();
                if (section == "global") continue;
                if (job is not null)
                {
                    problems.Add(new InputProblem(file, number, 1, $"[{section}]", $"a second job section (after [{job}] at line {jobLine}) is not supported: a case is one job; put shared options in [global]"));
                    continue;
                }
                job = section;
                jobLine = number;
                continue;
            }
            if (line.StartsWith("include ", StringComparison.Ordinal))
            {
                problems.Add(new InputProblem(file, number, 1, "include", "include is not supported: put the whole job in one file"));
                continue;
            }
            if (section is null)
            {
                problems.Add(new InputProblem(file, number, 1, "(section)", $"'{line}' comes before any section; start with [global] or [job-name]"));
                continue;
            }
            if (line.Contains("${", StringComparison.Ordinal) || line.Contains("$mb_memory", StringComparison.Ordinal) || line.Contains("$ncpus", StringComparison.Ordinal))
            {
                problems.Add(new InputProblem(file, number, 1, "(value)", $"'{line}': environment variables and fio's $-expressions are not supported: write the value"));
                continue;
            }
            options.Add(KeyValue(line, number, section));
        }
        if (job is null && problems.Count == 0)
            problems.Add(new InputProblem(file, 0, 0, "(file)", section is null
                ? "is empty (blank lines and comments only): a job file needs one job section such as [seed] with rw=, bs=, size=, ..."
                : "has no job section (only [global]): add one such as [seed]"));
        if (problems.Count > 0) throw new InputException(problems);
        return new FioJobFile(file, job!, jobLine, options, settings);
    }

    private static FioOption KeyValue(string line, int number, string section)
    {
        var eq = line.IndexOf('=');
        return eq < 0
            ? new FioOption(line.Trim(), null, number, section)
            : new FioOption(line[..eq].Trim(), line[(eq + 1)..].Trim(), number, section);
    }

    private static int LineOf(string text, int index) => text.AsSpan(0, index).Count('\n') + 1;
}

/// <summary>
/// fio's integer syntax as it reads job files by default (kb_base=1024): a decimal or 0x number
/// with an optional k/m/g/t/p suffix (an optional trailing b), each a power of 1024.
/// </summary>
public static class FioNumber
{
    private const string Suffixes = "kmgtp";

    /// <summary>Parses a size; null with <paramref name="error"/> set when it does not fit.</summary>
    public static long? Parse(string text, out string error)
    {
        error = "";
        var t = text.Trim().ToLowerInvariant();
        if (t.Length == 0) { error = "has no value"; return null; }
        if (t.Contains('%')) { error = $"'{text}': percentages depend on the device size; write the bytes"; return null; }
        if (t.Contains(':') || t.Contains(',') || (t.IndexOf('-') > 0)) { error = $"'{text}': ranges and per-direction lists are not supported; give one value"; return null; }
        if (t.StartsWith('-')) { error = $"'{text}' is negative"; return null; }
        // With kb_base=1024 (fio's default) fio reads 4kib as 4000 bytes, backwards from IEC: refuse
        // the spelling rather than guess which one the author meant.
        if (t.EndsWith("ib", StringComparison.Ordinal) && t.Length >= 3 && Suffixes.Contains(t[^3]))
        {
            error = $"'{text}': fio reads {t[^3]}ib as a power of 1000 by default (kb_base=1024 swaps SI and IEC); write {t[..^2]} for powers of 1024";
            return null;
        }
        var body = t;
        if (body.EndsWith('b') && body.Length >= 2 && Suffixes.Contains(body[^2])) body = body[..^1];
        var power = 0;
        if (body.Length > 0 && Suffixes.Contains(body[^1]) && !body.StartsWith("0x", StringComparison.Ordinal))
        {
            power = Suffixes.IndexOf(body[^1]) + 1;
            body = body[..^1];
        }
        ulong value;
        var ok = body.StartsWith("0x", StringComparison.Ordinal)
            ? ulong.TryParse(body[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : ulong.TryParse(body, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok || body.Length == 0)
        {
            error = $"'{text}' is not a number (examples: 4096, 4k, 32m, 1g)";
            return null;
        }
        var factor = 1UL << (10 * power);
        if (value > long.MaxValue / factor)
        {
            error = $"'{text}' is out of range";
            return null;
        }
        return (long)(value * factor);
    }
}

/// <summary>Maps a parsed job file to a case, through the same validation as a YAML case.</summary>
public static class FioCase
{
    /// <summary>fio's own default seed (FIO_RANDSEED), used when the job sets no randseed.</summary>
    public const ulong DefaultSeed = 0xb1899bedUL;

    /// <summary>Options that change how fio batches its system calls, never what is written: accepted, no effect here.</summary>
    private static readonly string[] PerformanceOnly =
        ["iodepth_batch", "iodepth_batch_submit", "iodepth_batch_complete", "iodepth_batch_complete_min", "iodepth_batch_complete_max", "iodepth_low", "group_reporting", "thread"];

    /// <summary>Where fio writes; the harness writes its own file in the filesystem under test.</summary>
    private static readonly string[] WhereFioWrites = ["filename", "directory"];

    private static readonly string[] Mapped =
        ["name", "ioengine", "direct", "rw", "readwrite", "bs", "blocksize", "offset", "offset_increment", "size", "filesize", "nrfiles", "iodepth", "numjobs", "randseed", "fallocate"];

    private static readonly string[] SettingKeys = ["description", "catches", "fixed-by", "fs-block-size", "dirty-free-space", "readback", "repeats"];

    /// <summary>True for a path `--case` should read as a job file: *.fio, or a file whose content opens with a section.</summary>
    public static bool IsJobFile(string path)
    {
        if (path.EndsWith(".fio", StringComparison.Ordinal)) return true;
        if (path.EndsWith(".yaml", StringComparison.Ordinal) || !File.Exists(path)) return false;
        try
        {
            using var reader = new StreamReader(path);
            var head = new char[4096];
            var n = reader.ReadBlock(head, 0, head.Length);
            return FioJobParser.LooksLikeJobFile(new string(head, 0, n));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // the YAML loader reports the unreadable file
        }
    }

    public static CaseSpec Load(string path, string? displayPath = null)
    {
        var display = displayPath ?? path;
        if (!File.Exists(path))
            throw new InputException(new InputProblem(display, 0, 0, "(file)", "no such fio job file"));
        return Parse(display, YamlFields.ReadBounded(path, display));
    }

    public static CaseSpec Parse(string file, string text) => Map(FioJobParser.Parse(file, text)).Case;

    /// <summary>The case a job file becomes, and the same case as YAML (what `harness cases show` prints).</summary>
    public static (CaseSpec Case, string Yaml) Map(FioJobFile job)
    {
        var p = new List<InputProblem>();
        void Problem(FioOption o, string message) => p.Add(new InputProblem(job.File, o.Line, 1, o.Key, message));
        void Missing(string key, string message) => p.Add(new InputProblem(job.File, job.JobLine, 1, key, message));

        foreach (var o in job.Options)
        {
            if (!Mapped.Contains(o.Key) && !PerformanceOnly.Contains(o.Key) && !WhereFioWrites.Contains(o.Key))
                Problem(o, $"{o.Key} is not supported in a job file used as a case; supported: {string.Join(", ", Mapped.Concat(WhereFioWrites))} (and {string.Join(", ", PerformanceOnly)}, which change only how fio batches calls)");
            else if (o.Value is null && o.Key is not ("group_reporting" or "thread"))
                Problem(o, $"'{o.Key}' has no value (write {o.Key}=...)");
        }

        string? Text(string key) => job.Effective(key)?.Value;
        long? Number(string key, long min = 0)
        {
            if (job.Effective(key) is not { Value: not null } o) return null;
            if (FioNumber.Parse(o.Value, out var error) is not { } v) { Problem(o, $"{key}={o.Value}: {error}"); return null; }
            if (v < min) { Problem(o, $"{key}={o.Value} must be at least {min}"); return null; }
            return v;
        }
        void Require(string key, string want, string why)
        {
            if (job.Effective(key) is { } o)
            {
                if (o.Value != want) Problem(o, $"{key}={o.Value} is not supported: {why}; use {key}={want}");
            }
            else Missing(key, $"{key} is not set (fio's default is not {want}): {why}; add {key}={want}");
        }

        Require("ioengine", "libaio", "the harness submits with io_submit (libaio), and the bench compares like with like");
        Require("direct", "1", "the harness judges O_DIRECT writes (buffered writes never reach the sub-block zeroing path)");

        var rwOption = job.Effective("rw") ?? job.Effective("readwrite");
        var random = false;
        if (rwOption is null) Missing("rw", "rw is not set (fio's default is read): the harness judges writes; add rw=write or rw=randwrite");
        else if (rwOption.Value is "write" or "randwrite") random = rwOption.Value == "randwrite";
        else Problem(rwOption, $"rw={rwOption.Value} is not supported: the harness judges writes; use write or randwrite"
            + (rwOption.Value?.Contains(':') == true ? " (no :skip modifier)" : ""));

        if (Number("nrfiles", 1) is { } files and not 1) Problem(job.Effective("nrfiles")!, $"nrfiles={files} is not supported: a case writes one file; use nrfiles=1");
        if (Number("numjobs", 1) is { } jobs and not 1) Problem(job.Effective("numjobs")!, $"numjobs={jobs} is not supported: a case has one submitter; raise iodepth for more writes in flight");
        Number("offset_increment"); // only moves jobs after the first; with numjobs=1 it changes nothing
        foreach (var key in PerformanceOnly.Where(k => k is not ("group_reporting" or "thread"))) Number(key);
        if (job.Effective("filename") is { Value: { } fn } fo && fn.Contains(':'))
            Problem(fo, $"filename={fn} names several files (':' separates them in fio); a case writes one file");

        var bs = Number("bs", 512) ?? Number("blocksize", 512) ?? 4096; // fio's default bs is 4k
        var offset = Number("offset") ?? 0;
        var size = Number("size", 1);
        if (size is null && job.Effective("size") is null) Missing("size", "size is not set: it sets how many IOs the job writes (size / bs)");
        var fileSize = Number("filesize", 1);
        var depth = Number("iodepth", 1) ?? 1;
        if (depth > 1024 && job.Effective("iodepth") is { } io) Problem(io, $"iodepth={depth} is over 1024, the most a case takes");
        var seed = job.Effective("randseed") is { Value: { } rs } ro
            ? (ulong.TryParse(rs, NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : Fail(ro, $"randseed={rs} is not a whole number from 0 to {ulong.MaxValue}"))
            : DefaultSeed;
        ulong Fail(FioOption o, string message) { Problem(o, message); return 0; }

        // fio's Linux default is fallocate=native: the file's blocks become unwritten extents.
        // none lays nothing out (fio 3.33 neither ftruncates nor allocates a new file: every
        // write at or past EOF extends it, the kernel's extending path); truncate ftruncates to
        // the final size first, so the writes fill holes below EOF (generic/240's setup).
        var preparation = "unwritten";
        if (job.Effective("fallocate") is { } fa)
        {
            preparation = fa.Value switch
            {
                "truncate" => "sparse",
                "none" or "0" => "extending",
                "native" or "posix" or "1" => "unwritten",
                _ => "",
            };
            if (preparation == "") Problem(fa, $"fallocate={fa.Value} is not supported: use truncate (holes below EOF, generic/240's setup), none (an empty file every write extends) or native/posix (unwritten extents)");
        }

        if (size is { } sz && bs > 0 && sz % bs != 0 && job.Effective("size") is { } so)
            Problem(so, $"size={so.Value} is not a multiple of bs ({bs}): fio would cut the last IO short; make size a multiple of bs");
        if (offset % 512 != 0 && job.Effective("offset") is { } oo)
            Problem(oo, $"offset={oo.Value} must be a multiple of 512 (O_DIRECT and the harness's sector format)");
        if (bs % 512 != 0 && (job.Effective("bs") ?? job.Effective("blocksize")) is { } bo)
            Problem(bo, $"bs={bo.Value} must be a multiple of 512 (O_DIRECT and the harness's sector format)");
        if (bs > 1L << 30 && (job.Effective("bs") ?? job.Effective("blocksize")) is { } big)
            Problem(big, $"bs={big.Value} is over 1g, the largest IO a case takes (Linux caps one IO at 2GiB - 4KiB)");
        var count = size is { } z && bs > 0 ? z / bs : 0;
        if (count > 1 << 20 && job.Effective("size") is { } co)
            Problem(co, $"size={co.Value} makes {count} IOs of {bs} bytes; a case takes at most {1 << 20}");

        // Harness settings fio has no word for, from `; harness: key=value` comments.
        var set = new Dictionary<string, FioOption>();
        foreach (var s2 in job.HarnessSettings)
        {
            if (!SettingKeys.Contains(s2.Key))
                Problem(s2, $"'{s2.Key}' is not a harness setting; settings: {string.Join(", ", SettingKeys)}");
            else if (s2.Value is null)
                Problem(s2, $"harness setting {s2.Key} has no value");
            else set[s2.Key] = s2;
        }
        string? Setting(string key) => set.TryGetValue(key, out var o) ? o.Value : null;
        var fsBlock = 4096L;
        if (set.TryGetValue("fs-block-size", out var fbo))
        {
            if (!ByteSize.TryParse(fbo.Value, out fsBlock, out var e)) Problem(fbo, $"fs-block-size: {e}");
        }
        if (fsBlock <= 0) fsBlock = 4096;
        long? dirty = null;
        if (set.TryGetValue("dirty-free-space", out var dro))
        {
            if (ByteSize.TryParse(dro.Value, out var d, out var e)) dirty = d; else Problem(dro, e);
        }
        int? repeats = null;
        if (set.TryGetValue("repeats", out var rpo))
        {
            if (int.TryParse(rpo.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var r) && r >= 1) repeats = r;
            else Problem(rpo, $"repeats={rpo.Value} is not a whole number of at least 1");
        }
        string[] readback = ["after-fsync", "after-remount"];
        if (set.TryGetValue("readback", out var rbo))
        {
            readback = rbo.Value!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (readback.Length == 0 || readback.Any(w => w is not ("after-fsync" or "after-remount")))
                Problem(rbo, $"readback={rbo.Value}: list after-fsync and/or after-remount, comma separated");
        }
        if (p.Count > 0) throw new InputException(p);

        var end = offset + count * bs;
        var fileBytes = fileSize ?? (end + fsBlock - 1) / fsBlock * fsBlock;
        var name = Slug(Text("name") ?? job.JobName);
        var yaml = new StringBuilder();
        yaml.AppendLine($"# The case fio job [{job.JobName}] in {Path.GetFileName(job.File)} maps to.");
        yaml.AppendLine($"name: {name}");
        yaml.AppendLine($"description: {Quote(Setting("description") ?? $"fio job [{job.JobName}] from {Path.GetFileName(job.File)}")}");
        yaml.AppendLine($"catches: {Quote(Setting("catches") ?? "whatever the fio job's writes expose (the job file says no more)")}");
        if (Setting("fixed-by") is { } fixedBy) yaml.AppendLine($"fixed-by: {Quote(fixedBy)}");
        yaml.AppendLine("file:");
        yaml.AppendLine($"  size: {fileBytes}");
        yaml.AppendLine($"  preparation: {preparation}");
        yaml.AppendLine($"fs-block-size: {fsBlock}");
        yaml.AppendLine("io:");
        yaml.AppendLine($"  pattern: {(random ? "random-stride" : "stride")}");
        yaml.AppendLine($"  size: {bs}");
        yaml.AppendLine("  alignment: 512");
        yaml.AppendLine($"  stride: {bs}");
        yaml.AppendLine($"  start: {offset}");
        yaml.AppendLine($"  count: {count}");
        yaml.AppendLine($"  queue-depth: {depth}");
        if (dirty is { } dirtyBytes) yaml.AppendLine($"dirty-free-space: {ByteSize.Format(dirtyBytes)}");
        yaml.AppendLine($"readback: [{string.Join(", ", readback)}]");
        if (repeats is { } r2) yaml.AppendLine($"repeats: {r2}");
        yaml.AppendLine($"seed: {seed}");
        var text = yaml.ToString();

        try
        {
            return (CaseLoader.Parse(job.File, text), text);
        }
        catch (InputException e)
        {
            // One validator for both spellings; its findings are moved to the job line that fed the field.
            throw new InputException(e.Problems.Select(problem => Relocate(job, set, problem)).ToArray());
        }
    }

    private static InputProblem Relocate(FioJobFile job, IReadOnlyDictionary<string, FioOption> settings, InputProblem problem)
    {
        var field = problem.Field[(problem.Field.LastIndexOf('.') + 1)..]; // io.queue-depth -> queue-depth
        var source = field switch
        {
            "count" => job.Effective("size"),
            "queue-depth" => job.Effective("iodepth"),
            "start" => job.Effective("offset"),
            "size" or "stride" => job.Effective("bs") ?? job.Effective("blocksize") ?? job.Effective("filesize"),
            "seed" => job.Effective("randseed"),
            _ => settings.TryGetValue(field, out var s) ? s : null,
        };
        var at = source?.Line ?? job.JobLine;
        var what = source is null ? problem.Field : source.Key;
        return new InputProblem(job.File, at, 1, what, $"{problem.Message} (as case field '{problem.Field}')");
    }

    /// <summary>A job name as a case name: lower-case letters, digits and dashes (it names result folders).</summary>
    public static string Slug(string jobName)
    {
        var sb = new StringBuilder();
        foreach (var c in jobName.ToLowerInvariant())
        {
            var keep = c is (>= 'a' and <= 'z') or (>= '0' and <= '9');
            if (keep) sb.Append(c);
            else if (sb.Length > 0 && sb[^1] != '-') sb.Append('-');
            if (sb.Length >= 64) break;
        }
        var slug = sb.ToString().Trim('-');
        return slug.Length == 0 ? "fio-job" : slug;
    }

    // YAML double-quoted scalar: backslash and quote escaped, control characters dropped.
    private static string Quote(string s) =>
        "\"" + new string(s.Where(c => !char.IsControl(c)).ToArray()).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
