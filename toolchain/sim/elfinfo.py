"""What a linked ELF occupies: flash and RAM bytes per section, symbols, and the flash image.

Sizes come from section headers (what the linker placed), not from ``size``'s text/data/bss
guesses: a section counts against flash when its load address (LMA) is in the flash region,
against RAM when its run address (VMA) is in the RAM region. Initialised data counts in both:
its initial values are stored in flash and copied to RAM at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from toolchain.boards import Region


@dataclass(frozen=True)
class Section:
    name: str
    vma: int
    lma: int
    size: int
    nobits: bool       # occupies no file bytes (.bss, .stack)
    writable: bool
    executable: bool


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int
    size: int


@dataclass(frozen=True)
class Segment:
    """A PT_LOAD program header."""

    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    data: bytes


@dataclass(frozen=True)
class ElfInfo:
    path: Path
    little_endian: bool
    entry: int
    sections: tuple[Section, ...]
    segments: tuple[Segment, ...]
    symbols: dict[str, Symbol]

    def symbol(self, name: str) -> Symbol | None:
        return self.symbols.get(name)

    def read_u32(self, name: str) -> int | None:
        """Value of a 32-bit initialised object (e.g. a const the firmware keeps for us)."""
        sym = self.symbols.get(name)
        if sym is None or sym.size != 4:
            return None
        for seg in self.segments:
            # read through the segment's file bytes, located by the symbol's run address
            if seg.vaddr <= sym.value and sym.value + 4 <= seg.vaddr + seg.filesz:
                off = sym.value - seg.vaddr
                return int.from_bytes(seg.data[off:off + 4],
                                      "little" if self.little_endian else "big")
        return None


def symbolize(info: ElfInfo, address: int) -> str:
    """'name+0xoff' for the function containing ``address`` (for crash reports), else ''."""
    for sym in info.symbols.values():
        start = sym.value & ~1  # Thumb function symbols carry bit 0
        if sym.size and start <= address < start + sym.size:
            return f"{sym.name}+{address - start:#x}"
    return ""


def read_elf(path: Path) -> ElfInfo:
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        segments = tuple(
            Segment(vaddr=seg["p_vaddr"], paddr=seg["p_paddr"], filesz=seg["p_filesz"],
                    memsz=seg["p_memsz"], data=seg.data())
            for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD")
        sections = tuple(_sections(elf, segments))
        symbols: dict[str, Symbol] = {}
        symtab = elf.get_section_by_name(".symtab")
        if symtab is not None:
            for sym in symtab.iter_symbols():  # type: ignore[attr-defined]
                if sym.name and sym["st_info"]["type"] in ("STT_FUNC", "STT_OBJECT",
                                                           "STT_NOTYPE"):
                    symbols.setdefault(sym.name, Symbol(sym.name, sym["st_value"],
                                                        sym["st_size"]))
        return ElfInfo(path=Path(path), little_endian=elf.little_endian,
                       entry=elf.header["e_entry"], sections=sections, segments=segments,
                       symbols=symbols)


def _sections(elf: ELFFile, segments: tuple[Segment, ...]) -> list[Section]:
    out = []
    for sec in elf.iter_sections():
        flags = sec["sh_flags"]
        if not flags & SH_FLAGS.SHF_ALLOC or sec["sh_size"] == 0:
            continue
        vma = sec["sh_addr"]
        nobits = sec["sh_type"] == "SHT_NOBITS"
        out.append(Section(name=sec.name, vma=vma, lma=vma if nobits else _lma(vma, segments),
                           size=sec["sh_size"], nobits=nobits,
                           writable=bool(flags & SH_FLAGS.SHF_WRITE),
                           executable=bool(flags & SH_FLAGS.SHF_EXECINSTR)))
    return out


def _lma(vma: int, segments: tuple[Segment, ...]) -> int:
    for seg in segments:
        if seg.vaddr <= vma < seg.vaddr + max(seg.memsz, 1):
            return seg.paddr + (vma - seg.vaddr)
    return vma


@dataclass(frozen=True)
class MemoryUse:
    flash_bytes: int
    ram_bytes: int
    flash_by_section: dict[str, int]
    ram_by_section: dict[str, int]


def memory_use(info: ElfInfo, flash: Region | None, ram: Region | None) -> MemoryUse:
    """Bytes of flash and RAM. Without regions (host builds) sections are classified by
    their flags: read-only or executable -> flash, writable -> RAM."""
    flash_parts: dict[str, int] = {}
    ram_parts: dict[str, int] = {}
    for sec in info.sections:
        if flash is not None and ram is not None:
            in_flash = not sec.nobits and flash.contains(sec.lma)
            in_ram = ram.contains(sec.vma)
        else:
            in_ram = sec.writable
            in_flash = not sec.nobits  # initial values of writable data are stored too
        if in_flash:
            flash_parts[sec.name] = sec.size
        if in_ram:
            ram_parts[sec.name] = sec.size
    return MemoryUse(flash_bytes=sum(flash_parts.values()), ram_bytes=sum(ram_parts.values()),
                     flash_by_section=flash_parts, ram_by_section=ram_parts)


def flash_image(info: ElfInfo, flash: Region) -> bytes:
    """The bytes a programmer would write to flash, from ``flash.origin``: every loadable
    segment placed at its load address (LMA). Gaps are 0xFF, as in erased flash."""
    parts = [s for s in info.segments if s.filesz > 0 and flash.contains(s.paddr)]
    if not parts:
        raise ValueError(f"{info.path}: no loadable segment in flash "
                         f"[{flash.origin:#x}, {flash.end:#x})")
    end = max(s.paddr + s.filesz for s in parts)
    image = bytearray(b"\xff" * (end - flash.origin))
    for s in parts:
        off = s.paddr - flash.origin
        image[off:off + s.filesz] = s.data[:s.filesz]
    return bytes(image)


def has_lma_copy(info: ElfInfo, section_name: str = ".data") -> bool:
    """True when ``section_name`` is stored at a different address than it runs at, i.e.
    the start-up code has to copy it."""
    for sec in info.sections:
        if sec.name == section_name:
            return sec.lma != sec.vma
    return False
