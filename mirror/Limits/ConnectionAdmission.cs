using Downloads.Contracts.Hosting;
namespace Downloads.Mirror.Limits;

/// <summary>Connection feature set when a connection opens: how many were open counting it.</summary>
/// <param name="OpenAtAccept">Open connections, this one included, when it was accepted.</param>
/// <param name="AddressOpenAtAccept">Open connections from its client address (<see cref="AddressKey"/>), this one included; 0 when the transport has no IP address.</param>
internal sealed record ConnectionAdmission(long OpenAtAccept, int AddressOpenAtAccept = 0);
