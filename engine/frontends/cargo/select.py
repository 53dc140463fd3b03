"""cargo's selection flags, as thinwatch takes them on its command line
(`-p`, `--bin`, `--example`, `--features`, `--all-features`,
`--no-default-features`, `--profile`) and hands them to every cargo it runs.

`--target-dir` is refused: thinwatch's cargo runs with other flags than the
user's (`-C linker-plugin-lto`, the linker shim), so sharing a target
directory would rebuild every crate for each of them in turn, and the shim
leaves placeholders where cargo's executables would be.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ...errors import ConfigError


@dataclass(frozen=True)
class Selection:
    packages: tuple[str, ...] = ()
    bins: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    all_features: bool = False
    no_default_features: bool = False
    profile: str = "release"

    @classmethod
    def of(cls, args) -> "Selection":
        """From the command line's parsed flags; ConfigError for what thinwatch cannot honour."""
        if args.target_dir is not None:
            raise ConfigError("--target-dir is not supported: thinwatch keeps cargo's target directory in "
                              ".thinwatch/target, as its cargo runs with other flags than yours (sharing one "
                              "would rebuild every crate for each in turn) and leaves placeholders where "
                              "the executables would be")
        return cls(tuple(args.package), tuple(args.bin), tuple(args.example), tuple(args.features),
                   args.all_features, args.no_default_features, args.profile)

    def choosing(self, package: str, bins: tuple[str, ...], examples: tuple[str, ...]) -> "Selection":
        """This selection narrowed to one program of one package (what `cargo run` builds)."""
        return replace(self, packages=(package,), bins=bins, examples=examples)

    @property
    def targets(self) -> bool:
        """Whether particular binaries or examples are selected (then a library's doc-tests are not run)."""
        return bool(self.bins or self.examples)

    def profile_args(self) -> list[str]:
        return ["--release"] if self.profile == "release" else ["--profile", self.profile]

    def package_args(self) -> list[str]:
        """Which packages, with which features: what a doc-test run takes too."""
        args = [a for p in self.packages for a in ("--package", p)]
        args += [a for f in self.features for a in ("--features", f)]
        return args + ["--all-features"] * self.all_features + ["--no-default-features"] * self.no_default_features

    def cargo_args(self) -> list[str]:
        """Everything cargo is told, after its command."""
        targets = [a for b in self.bins for a in ("--bin", b)] + [a for e in self.examples for a in ("--example", e)]
        return self.profile_args() + self.package_args() + targets

    @property
    def default(self) -> bool:
        return self == Selection()
