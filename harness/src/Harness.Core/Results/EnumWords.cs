// Enum values as users read and type them (AfterFsync -> after-fsync, LostWrite -> lost-write),
// the same spelling the JSON records use.
using System.Text.Json;

namespace Harness.Results;

public static class EnumWords
{
    public static string Kebab<T>(T value) where T : struct, Enum => JsonNamingPolicy.KebabCaseLower.ConvertName(value.ToString());
}
