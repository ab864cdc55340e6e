namespace Downloads.Mirror.Limits;

/// <summary>Connection feature set when a connection opens: how many were open counting it.</summary>
/// <param name="OpenAtAccept">Open connections, this one included, when it was accepted.</param>
internal sealed record ConnectionAdmission(long OpenAtAccept);
