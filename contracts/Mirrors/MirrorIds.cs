namespace Downloads.Contracts.Mirrors;

/// <summary>Validation of mirror ids, which appear in Redis keys, ACL user names and URLs.</summary>
public static class MirrorIds
{
    /// <summary>Longest accepted id.</summary>
    public const int MaxLength = 48;

    /// <summary>True for 1–48 characters of lower-case ASCII letters, digits and '-', not starting with '-'.</summary>
    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength || id[0] == '-')
            return false;
        foreach (var c in id)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-'))
                return false;
        }
        return true;
    }
}
