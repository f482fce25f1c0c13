"""Real photos that are neither cats nor dogs, gathered from packages into a cache folder (never the repo).

No internet here but the package registries, so the photos come from packages that ship them:

- scikit-image's wheel (`pip download`, unzipped; not installed): its sample photos, `chelsea` (a cat) and
  `motorcycle_right` (the same scene as `motorcycle_left`) left out;
- scikit-learn (a requirement already): `load_sample_images`' two photos;
- Debian's wallpaper packages (`apt-get download`, unpacked with `dpkg-deb -x`; nothing installed):
  Lomiri's, MATE's and Plasma's photographs, and their illustrations and patterns as a second group.
  `friends_by_Aitzol_Berasategi.jpg` (Lomiri) shows two dogs: left out.

Each file is looked at once, by a person, and put in one group: `photos` (landscapes, objects, plants,
people, a bird, microscope and telescope images) or `patterns` (drawn, rendered or abstract wallpapers,
a chessboard, a silhouette). Every image is saved as an RGB JPEG of at most `SIDE` pixels a side.

    python bench/neither_photos.py [--cache DIR]     # prints the folder and how many images each group has
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SIDE = 1024
SKIMAGE = "scikit-image==0.26.0"
SKIMAGE_PHOTOS = ("astronaut.png", "brick.png", "camera.png", "cell.png", "clock_motion.png", "coffee.png",
                  "coins.png", "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png", "microaneurysms.png",
                  "moon.png", "motorcycle_left.png", "page.png", "retina.jpg", "rocket.jpg", "text.png")
SKIMAGE_PATTERNS = ("color.png", "chessboard_RGB.png", "horse.png", "logo.png", "phantom.png")
SKLEARN_PHOTOS = ("china.jpg", "flower.jpg")
BACKGROUNDS = "usr/share/backgrounds"
PLASMA = "usr/share/wallpapers"
# Debian package -> (photos, patterns): paths inside the package. A Plasma wallpaper's photo is its 1920x1080
# image; a pattern is its first image.
DEBIAN = {
    "lomiri-wallpapers-16.04": (
        [f"{BACKGROUNDS}/{name}.jpg" for name in (
            "Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Picture_0B_by_freespace", "Picture_1A_by_freespace",
            "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi", "analogpattern_by_Peter_Nerlich",
            "free_by_Peter_Nerlich", "greentock_by_Peter_Nerlich", "life_by_Aitzol_Berasategi",
            "picosdeeuropa_by_Aitzol_Berasategi", "seeding_by_Clements_Engelhardt", "sunset_by_Aitzol_Berasategi")],
        [f"{BACKGROUNDS}/umang_by_Abhishek_Mudgal.jpg"]),
    "lomiri-wallpapers-20.04": (
        [f"{BACKGROUNDS}/Infinite-Sea_by_Aury88.jpg", f"{BACKGROUNDS}/Kleiber_by_Lukas_Baubkus.jpg"],
        [f"{BACKGROUNDS}/Fossa_by_Jasper_Roks.jpg", f"{BACKGROUNDS}/Painting-Colors_by__herobrine7gamer.jpg"]),
    "mate-backgrounds": (
        [f"{BACKGROUNDS}/mate/nature/{name}.jpg" for name in (
            "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
            "TwoWings", "Wood", "YellowFlower")],
        [f"{BACKGROUNDS}/mate/{name}" for name in (
            "abstract/Elephants.jpg", "abstract/Flow.png", "abstract/Gulp.png", "desktop/Float-into-MATE.png",
            "desktop/Stripes.png", "desktop/Ubuntu-Mate-Cold-no-logo.png")]),
    "ukui-wallpapers": (
        [],
        [f"{BACKGROUNDS}/{name}" for name in (
            "2004default.jpg", "calla.png", "city.png", "desert.png", "firstgeneration.jpg", "fluent-color.png",
            "focal-ubuntukylin.png", "goldfish.png", "rhythm.jpg", "rollpaper.png", "string.jpg", "the-mouse.jpg")]),
    "plasma-workspace-wallpapers": (
        [f"{PLASMA}/{name}/contents/images/1920x1080.jpg" for name in (
            "BytheWater", "ColdRipple", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "Kite", "OneStandsOut",
            "Path", "summer_1am")] + [f"{PLASMA}/ColorfulCups/contents/images/2560x1600.jpg"],
        [f"{PLASMA}/{name}/contents/images" for name in (
            "Altai", "Autumn", "Canopee", "Cascade", "Cluster", "Elarun", "Flow", "FlyingKonqui", "Honeywave",
            "IceCold", "Kay", "Kokkini", "MilkyWay", "Opal", "PastelHills", "Patak", "SafeLanding", "Shell",
            "Volna")]),
}
GROUPS = ("photos", "patterns")


def default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "transfer-lab-bench"


def build(cache: Path) -> Path:
    """The folder holding `photos/` and `patterns/` (made once; a finished folder is reused)."""
    folder = cache / "neither"
    if (folder / "sources.json").exists():
        return folder
    with tempfile.TemporaryDirectory(prefix="neither-") as work:
        work = Path(work)
        sources = {**_from_skimage(work, folder), **_from_sklearn(folder)}
        for package, groups in DEBIAN.items():
            sources[package] = _from_debian(package, groups, work, folder)
    (folder / "sources.json").write_text(json.dumps(sources, indent=2))
    return folder


def _save(source: Path, folder: Path, group: str, name: str) -> None:
    from PIL import Image

    (folder / group).mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        image = image.convert("RGB")
        image.thumbnail((SIDE, SIDE))
        image.save(folder / group / f"{name}.jpg", "JPEG", quality=92)


def _from_skimage(work: Path, folder: Path) -> dict[str, list[str]]:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(work), SKIMAGE],
                   check=True)
    wheel = next(work.glob("scikit_image-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for group, names in zip(GROUPS, (SKIMAGE_PHOTOS, SKIMAGE_PATTERNS)):
            for name in names:
                archive.extract(f"skimage/data/{name}", work)
                _save(work / "skimage" / "data" / name, folder, group, f"skimage-{Path(name).stem}")
    return {wheel.name: [*SKIMAGE_PHOTOS, *SKIMAGE_PATTERNS]}


def _from_sklearn(folder: Path) -> dict[str, list[str]]:
    import sklearn

    images = Path(sklearn.__file__).parent / "datasets" / "images"
    for name in SKLEARN_PHOTOS:
        _save(images / name, folder, "photos", f"sklearn-{Path(name).stem}")
    return {f"scikit-learn {sklearn.__version__}": list(SKLEARN_PHOTOS)}


def _from_debian(package: str, groups: tuple[list[str], list[str]], work: Path, folder: Path) -> list[str]:
    subprocess.run(["apt-get", "download", "-q", package], cwd=work, check=True, capture_output=True)
    deb = next(work.glob(f"{package}_*.deb"))
    unpacked = work / package
    subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    for group, paths in zip(GROUPS, groups):
        for path in paths:
            found = unpacked / path
            if found.is_dir():  # a Plasma wallpaper's images: its first
                found = sorted(found.iterdir())[0]
            _save(found, folder, group, f"{package.split('-')[0]}-{_name(path)}")
    return [deb.name, *(path for paths in groups for path in paths)]


def _name(path: str) -> str:
    """A short file name for a path inside a package: the Plasma wallpaper's name, or the file's stem."""
    parts = Path(path).parts
    return parts[parts.index("wallpapers") + 1] if "wallpapers" in parts else Path(path).stem.split("_by_")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=default_cache(), help="where the set is built")
    folder = build(parser.parse_args().cache)
    counts = {group: len(list((folder / group).glob("*.jpg"))) for group in GROUPS}
    print(f"{folder}: {counts['photos']} photos, {counts['patterns']} patterns and illustrations")


if __name__ == "__main__":
    main()
