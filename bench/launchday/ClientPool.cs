using System.Net;
using MaxMind.Db;

namespace Downloads.LaunchDay;

/// <summary>Client addresses: a country by <see cref="Scenario.CountryWeights"/>, a network of that country, a random host in it.</summary>
internal sealed class ClientPool
{
    private readonly string[] _countries;
    private readonly double[] _cumulative;
    private readonly Dictionary<string, List<IPNetwork>> _networks = [];
    private readonly HashSet<uint> _seen = [];

    public ClientPool(IReadOnlyList<IPNetwork> networks, string cityDatabase)
    {
        using var reader = new Reader(cityDatabase);
        foreach (var network in networks)
        {
            var record = reader.Find<Dictionary<string, object>>(network.BaseAddress);
            var country = record?["country"] is Dictionary<string, object> c ? (string)c["iso_code"] : "--";
            if (!_networks.TryGetValue(country, out var list))
                _networks[country] = list = [];
            list.Add(network);
        }
        _countries = [.. _networks.Keys.Order(StringComparer.Ordinal)];
        _cumulative = new double[_countries.Length];
        double sum = 0;
        for (var i = 0; i < _countries.Length; i++)
        {
            sum += Scenario.CountryWeights.GetValueOrDefault(_countries[i], Scenario.OtherCountryWeight);
            _cumulative[i] = sum;
        }
    }

    /// <summary>Distinct addresses handed out so far.</summary>
    public int Distinct
    {
        get
        {
            lock (_seen)
                return _seen.Count;
        }
    }

    public IPAddress Next(Random random)
    {
        var pick = random.NextDouble() * _cumulative[^1];
        var i = Array.BinarySearch(_cumulative, pick);
        var country = _countries[i < 0 ? ~i : i];
        var list = _networks[country];
        var network = list[random.Next(list.Count)];
        Span<byte> bytes = stackalloc byte[4];
        network.BaseAddress.TryWriteBytes(bytes, out _);
        bytes[3] = (byte)random.Next(1, 255);
        lock (_seen)
            _seen.Add(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes));
        return new IPAddress(bytes);
    }
}
