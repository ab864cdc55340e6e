using System.ComponentModel.DataAnnotations;

namespace Downloads.Contracts.Manifests;

/// <summary>Validates an optional setting as empty or base64 of a 32-byte Ed25519 public key (<see cref="PinnedKeys.IsValidOptionalKey"/>).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class OptionalPublicKeyAttribute : ValidationAttribute
{
    /// <inheritdoc />
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        PinnedKeys.IsValidOptionalKey(value as string)
            ? ValidationResult.Success
            : new ValidationResult($"{validationContext.DisplayName} must be empty or the base64 of a 32-byte Ed25519 public key (44 characters)",
                validationContext.MemberName is { } member ? [member] : null);
}
