namespace Downloads.Redirector.Membership;

/// <summary>Registration of membership operations.</summary>
public static class MembershipExtensions
{
    /// <summary>Adds <see cref="MembershipService"/> and its options.</summary>
    public static IServiceCollection AddMembership(this IServiceCollection services)
    {
        services.AddOptions<MembershipOptions>().BindConfiguration(MembershipOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<MembershipService>();
        return services;
    }
}
