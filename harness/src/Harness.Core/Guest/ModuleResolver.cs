// Which module files to insmod, in which order, to get a set of modules into a kernel that has
// no modprobe to ask: modules.dep gives each module's full dependency closure, and a module's
// dependencies are loaded before it (recursively, so each dependency's own ones come first).
// Modules in modules.builtin are part of the kernel image and are skipped.
using Harness.Machines;

namespace Harness.Guest;

/// <summary>A kernel's module index (<c>lib/modules/&lt;release&gt;</c>): modules.dep and modules.builtin.</summary>
public sealed class ModuleResolver
{
    private readonly Dictionary<string, string> _pathByName;
    private readonly Dictionary<string, IReadOnlyList<string>> _dependencies;
    private readonly HashSet<string> _builtin;

    private ModuleResolver(string modulesDirectory, Dictionary<string, string> pathByName, Dictionary<string, IReadOnlyList<string>> dependencies, HashSet<string> builtin)
    {
        ModulesDirectory = modulesDirectory;
        _pathByName = pathByName;
        _dependencies = dependencies;
        _builtin = builtin;
    }

    public string ModulesDirectory { get; }

    /// <summary>The kernel release: the modules folder's name.</summary>
    public string Release => Path.GetFileName(Path.TrimEndingDirectorySeparator(ModulesDirectory));

    /// <summary>Reads modules.dep (required: run depmod first) and modules.builtin (optional).</summary>
    public static ModuleResolver Load(string modulesDirectory)
    {
        var depFile = Path.Combine(modulesDirectory, "modules.dep");
        if (!File.Exists(depFile))
            throw new MachineException($"{modulesDirectory} has no modules.dep (run `depmod -b <root> <release>` on it)");

        var pathByName = new Dictionary<string, string>(StringComparer.Ordinal);
        var dependencies = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(depFile))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var path = line[..colon].Trim();
            dependencies[path] = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            pathByName.TryAdd(ModuleName(path), path);
        }

        var builtinFile = Path.Combine(modulesDirectory, "modules.builtin");
        var builtin = File.Exists(builtinFile)
            ? File.ReadLines(builtinFile).Where(l => l.Length > 0).Select(ModuleName).ToHashSet(StringComparer.Ordinal)
            : new HashSet<string>(StringComparer.Ordinal);
        return new ModuleResolver(modulesDirectory, pathByName, dependencies, builtin);
    }

    /// <summary>
    /// Module files (relative to <see cref="ModulesDirectory"/>) to insmod in this order so every
    /// wanted module loads: dependencies first, each file once. Built-in modules are skipped;
    /// a module that is neither a file nor built in throws <see cref="MissingModuleException"/>.
    /// </summary>
    public IReadOnlyList<string> Resolve(IEnumerable<string> wanted)
    {
        var order = new List<string>();
        var done = new HashSet<string>(StringComparer.Ordinal);
        var visiting = new HashSet<string>(StringComparer.Ordinal);
        foreach (var module in wanted)
        {
            var name = Normalize(module);
            if (_pathByName.TryGetValue(name, out var path)) Visit(path, order, done, visiting);
            else if (!_builtin.Contains(name)) throw new MissingModuleException(module, Release);
        }
        return order;
    }

    /// <summary>Whether the module is compiled into the kernel image.</summary>
    public bool IsBuiltin(string module) => _builtin.Contains(Normalize(module));

    /// <summary>The module name of a module file: "kernel/drivers/md/dm-mod.ko.xz" is "dm_mod".</summary>
    public static string ModuleName(string path) => Normalize(FileStem(path));

    /// <summary>The file name without .ko and compression suffix: "dm-mod.ko.xz" is "dm-mod".</summary>
    public static string FileStem(string path)
    {
        var file = Path.GetFileName(path);
        var ko = file.IndexOf(".ko", StringComparison.Ordinal);
        return ko > 0 ? file[..ko] : file;
    }

    // The kernel treats '-' and '_' in module names alike.
    private static string Normalize(string name) => name.Replace('-', '_');

    private void Visit(string path, List<string> order, HashSet<string> done, HashSet<string> visiting)
    {
        if (done.Contains(path)) return;
        if (!visiting.Add(path))
            throw new MachineException($"{ModulesDirectory}/modules.dep has a dependency cycle through {path}");
        // modprobe loads a dep list from its end; visiting each dep's own deps first makes the
        // order right even if a list were not already in that order.
        foreach (var dependency in (_dependencies.GetValueOrDefault(path) ?? []).Reverse())
            Visit(dependency, order, done, visiting);
        visiting.Remove(path);
        done.Add(path);
        order.Add(path);
    }
}

/// <summary>A wanted module the kernel has neither as a file nor built in (e.g. xfs on a kernel built without it).</summary>
public sealed class MissingModuleException(string module, string release)
    : Exception($"kernel {release} has no module '{module}' (not in modules.dep, not in modules.builtin)")
{
    public string Module { get; } = module;

    public string Release { get; } = release;
}
