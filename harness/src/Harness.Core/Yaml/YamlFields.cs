// A thin reader over YamlDotNet's node tree that keeps each value's line and column, so a
// validation error can point at the exact field. Used by every YAML input (cases, kernels).
using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Harness.Yaml;

/// <summary>Reads fields of one YAML mapping, collecting problems instead of throwing on the first.</summary>
public sealed class YamlFields
{
    private readonly YamlMappingNode _node;
    private readonly string _path;
    private readonly HashSet<string> _read = [];
    private readonly List<InputProblem> _problems;

    private YamlFields(string file, string path, YamlMappingNode node, List<InputProblem> problems)
    {
        File = file;
        _path = path;
        _node = node;
        _problems = problems;
    }

    public string File { get; }

    public IReadOnlyList<InputProblem> Problems => _problems;

    /// <summary>Largest input file read (case files and kernel specs are a few hundred bytes).</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>Deepest nesting of lists and mappings accepted (ours need 2).</summary>
    public const int MaxDepth = 64;

    /// <summary>Parses YAML text whose top level must be a mapping.</summary>
    public static YamlFields Parse(string file, string text)
    {
        // Bounded before YamlDotNet builds its node tree: that recursion overflows the stack
        // (an uncatchable crash) on a few thousand nested '['.
        PreScan(file, text);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new InputException(new InputProblem(file, (int)e.Start.Line, (int)e.Start.Column, "(syntax)", e.InnerException?.Message ?? e.Message));
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new InputException(new InputProblem(file, 1, 1, "(document)", "expected a mapping of fields at the top level"));
        return new YamlFields(file, "", root, []);
    }

    /// <summary>Reads an input file, refusing one larger than <see cref="MaxBytes"/> before reading it.</summary>
    public static string ReadBounded(string path, string displayPath)
    {
        var info = new FileInfo(path);
        if (info.Length > MaxBytes)
            throw new InputException(new InputProblem(displayPath, 0, 0, "(file)", $"{info.Length} bytes is over the limit of {MaxBytes} bytes for an input file; is this the right file?"));
        try
        {
            return System.IO.File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(new InputProblem(displayPath, 0, 0, "(file)", $"cannot read: {e.Message}"));
        }
    }

    /// <summary>
    /// Size, tabs, nesting depth and document count, on the event stream (no recursion), so every
    /// one of them is an error at its line and column instead of a crash or a silent default.
    /// </summary>
    private static void PreScan(string file, string text)
    {
        if (text.Length > MaxBytes)
            throw new InputException(new InputProblem(file, 0, 0, "(file)", $"{text.Length} characters is over the limit of {MaxBytes} for an input file"));
        // YamlDotNet places a tab-indentation error at 1:1; find the real line here.
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            var indent = line.Length - line.TrimStart(' ', '\t').Length;
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            if (tab >= 0 && tab < indent)
                throw new InputException(new InputProblem(file, lineNumber, tab + 1, "(syntax)", "a tab in the indentation; YAML indents with spaces only"));
        }
        var parser = new Parser(new StringReader(text));
        var depth = 0;
        var documents = 0;
        try
        {
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case YamlDotNet.Core.Events.DocumentStart start when ++documents > 1:
                        throw new InputException(new InputProblem(file, (int)start.Start.Line, (int)start.Start.Column, "(document)",
                            "a second YAML document ('---'); one file holds one case or spec, put the next in its own file"));
                    case YamlDotNet.Core.Events.SequenceStart or YamlDotNet.Core.Events.MappingStart when ++depth > MaxDepth:
                        throw new InputException(new InputProblem(file, (int)parser.Current.Start.Line, (int)parser.Current.Start.Column, "(syntax)",
                            $"nested deeper than {MaxDepth} levels; case files and kernel specs need two"));
                    case YamlDotNet.Core.Events.SequenceEnd or YamlDotNet.Core.Events.MappingEnd:
                        depth--;
                        break;
                }
            }
        }
        catch (YamlException e)
        {
            throw new InputException(new InputProblem(file, (int)e.Start.Line, (int)e.Start.Column, "(syntax)", e.InnerException?.Message ?? e.Message));
        }
    }

    public void Problem(string key, string message) => _problems.Add(At(key, message));

    public string? String(string key, bool required = false)
    {
        var node = Scalar(key, required);
        return node?.Value;
    }

    public int? Int(string key, int min, int max, bool required = false)
    {
        var node = Scalar(key, required);
        if (node is null) return null;
        // A whole number too big for the type is out of range, not "not a whole number".
        if (!System.Numerics.BigInteger.TryParse(node.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            return Bad<int?>(node, key, $"'{node.Value}' is not a whole number");
        if (value < min || value > max)
            return Bad<int?>(node, key, $"{node.Value} is out of range (min {min}, max {max})");
        return (int)value;
    }

    public ulong? UInt64(string key, bool required = false)
    {
        var node = Scalar(key, required);
        if (node is null) return null;
        if (!System.Numerics.BigInteger.TryParse(node.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            return Bad<ulong?>(node, key, $"'{node.Value}' is not a non-negative whole number");
        if (value < 0 || value > ulong.MaxValue)
            return Bad<ulong?>(node, key, $"{node.Value} is out of range (min 0, max {ulong.MaxValue})");
        return (ulong)value;
    }

    public bool? Bool(string key, bool required = false)
    {
        var node = Scalar(key, required);
        if (node is null) return null;
        return node.Value switch
        {
            "true" or "yes" => true,
            "false" or "no" => false,
            _ => Bad<bool?>(node, key, $"'{node.Value}' is not true or false"),
        };
    }

    /// <summary>A byte size: a number with an optional K/KiB/M/MiB/G/GiB suffix (powers of 1024).</summary>
    public long? Size(string key, bool required = false, long max = long.MaxValue, string? why = null)
    {
        var node = Scalar(key, required);
        if (node is null) return null;
        if (!ByteSize.TryParse(node.Value, out var value, out var error)) return Bad<long?>(node, key, error);
        if (value > max)
            return Bad<long?>(node, key, $"{node.Value} is out of range (max {ByteSize.Format(max)}{(why is null ? "" : ": " + why)})");
        return value;
    }

    /// <summary>One of a fixed set of words; the error lists them.</summary>
    public string? OneOf(string key, IReadOnlyList<string> allowed, bool required = false)
    {
        var node = Scalar(key, required);
        if (node is null) return null;
        if (allowed.Contains(node.Value ?? "")) return node.Value;
        return Bad<string?>(node, key, $"'{node.Value}' is not one of: {string.Join(", ", allowed)}");
    }

    public IReadOnlyList<string>? StringList(string key, bool required = false)
    {
        if (!TryGet(key, required, out var node)) return null;
        if (node is YamlScalarNode scalar) return [scalar.Value ?? ""];
        if (node is not YamlSequenceNode seq)
            return Bad<IReadOnlyList<string>?>(node, key, "expected a list");
        var items = new List<string>();
        foreach (var item in seq)
        {
            if (item is YamlScalarNode s) items.Add(s.Value ?? "");
            else _problems.Add(Located(item, key, "expected a plain value in the list"));
        }
        return items;
    }

    /// <summary>Position of a field, for errors raised while validating across fields.</summary>
    public (int Line, int Column) PositionOf(string key) =>
        _node.Children.TryGetValue(new YamlScalarNode(key), out var node)
            ? ((int)node.Start.Line, (int)node.Start.Column)
            : ((int)_node.Start.Line, (int)_node.Start.Column);

    public YamlFields? Map(string key, bool required = false)
    {
        if (!TryGet(key, required, out var node)) return null;
        if (node is YamlMappingNode map) return new YamlFields(File, FieldName(key) + ".", map, _problems);
        return Bad<YamlFields?>(node, key, "expected a mapping of fields");
    }

    /// <summary>
    /// A mapping of named entries (name: {fields}), in file order, each read with its own fields;
    /// an entry that is not a mapping is a problem at its line. Duplicate names are refused by the
    /// YAML parser itself.
    /// </summary>
    public IReadOnlyList<(string Name, int Line, YamlFields Fields)>? Entries(string key, bool required = false)
    {
        if (!TryGet(key, required, out var node)) return null;
        if (node is not YamlMappingNode map) return Bad<IReadOnlyList<(string, int, YamlFields)>?>(node, key, "expected a mapping of named entries");
        var entries = new List<(string, int, YamlFields)>();
        foreach (var (k, v) in map.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? "";
            if (v is YamlMappingNode m) entries.Add((name, (int)k.Start.Line, new YamlFields(File, $"{FieldName(key)}.{name}.", m, _problems)));
            else _problems.Add(new InputProblem(File, (int)v.Start.Line, (int)v.Start.Column, $"{FieldName(key)}.{name}", "expected a mapping of fields"));
        }
        return entries;
    }

    /// <summary>
    /// A list of mappings (`- field: value` items), in file order, each read with its own fields
    /// named <c>key[i].field</c> in errors; an item that is not a mapping is a problem at its line.
    /// </summary>
    public IReadOnlyList<(int Line, YamlFields Fields)>? MapList(string key, bool required = false)
    {
        if (!TryGet(key, required, out var node)) return null;
        if (node is not YamlSequenceNode seq) return Bad<IReadOnlyList<(int, YamlFields)>?>(node, key, "expected a list of mappings (- field: value)");
        var items = new List<(int, YamlFields)>();
        var i = 0;
        foreach (var item in seq)
        {
            var name = $"{FieldName(key)}[{i++}]";
            if (item is YamlMappingNode m) items.Add(((int)item.Start.Line, new YamlFields(File, name + ".", m, _problems)));
            else _problems.Add(new InputProblem(File, (int)item.Start.Line, (int)item.Start.Column, name, "expected a mapping of fields"));
        }
        return items;
    }

    /// <summary>Call last: every key not read is reported as unknown, with the valid ones.</summary>
    public void RejectUnknown()
    {
        foreach (var (key, value) in _node.Children)
        {
            var name = (key as YamlScalarNode)?.Value ?? "?";
            if (!_read.Contains(name))
                _problems.Add(Located(key, name, $"unknown field; valid fields here: {string.Join(", ", _read.Order(StringComparer.Ordinal))}"));
        }
    }

    /// <summary>Throws all collected problems, if any.</summary>
    public void ThrowIfProblems()
    {
        if (_problems.Count > 0)
            throw new InputException(_problems.OrderBy(p => p.Line).ThenBy(p => p.Column).ToArray());
    }

    private YamlScalarNode? Scalar(string key, bool required)
    {
        if (!TryGet(key, required, out var node)) return null;
        if (node is YamlScalarNode scalar) return scalar;
        return Bad<YamlScalarNode?>(node, key, "expected a single value");
    }

    private bool TryGet(string key, bool required, out YamlNode node)
    {
        _read.Add(key);
        if (_node.Children.TryGetValue(new YamlScalarNode(key), out node!)
            && !(node is YamlScalarNode { Value: null or "" or "~" or "null", Style: ScalarStyle.Plain }))
            return true;
        if (required) _problems.Add(At(key, "is required"));
        return false;
    }

    private T Bad<T>(YamlNode node, string key, string message)
    {
        _problems.Add(Located(node, key, message));
        return default!;
    }

    private InputProblem Located(YamlNode node, string key, string message) =>
        new(File, (int)node.Start.Line, (int)node.Start.Column, FieldName(key), message);

    private InputProblem At(string key, string message)
    {
        var (line, column) = PositionOf(key);
        return new InputProblem(File, line, column, FieldName(key), message);
    }

    private string FieldName(string key) => _path + key;
}
