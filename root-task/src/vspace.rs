//! Address-space plumbing shared by the master's own address space and the replicas' VSpaces.

use core::ops::Range;

/// Maps the translation tables of every level that `range` of `vspace` needs, made by `alloc`.
/// Tables that are already there are kept. Generic in the allocator's error, so that this
/// module needs nothing of the object allocator's (which maps its own tables through it).
pub(crate) fn map_tables<E: From<sel4::Error>>(
    vspace: sel4::cap::VSpace,
    range: Range<u64>,
    mut alloc: impl FnMut(sel4::ObjectBlueprint) -> Result<sel4::cap::Unspecified, E>,
) -> Result<(), E> {
    for level in 1..sel4::vspace_levels::NUM_LEVELS {
        let span = 1u64 << sel4::vspace_levels::span_bits(level);
        let start = range.start - range.start % span;
        let ty = sel4::TranslationTableObjectType::from_level(level).expect("level in range");
        for addr in (start..range.end).step_by(span as usize) {
            let table = alloc(ty.blueprint())?
                .cast::<sel4::cap_type::UnspecifiedIntermediateTranslationTable>();
            crate::count::note(crate::count::Kind::Map);
            match table.generic_intermediate_translation_table_map(
                ty,
                vspace,
                addr as usize,
                sel4::VmAttributes::default(),
            ) {
                // A table is there already (the master's own address space): the new one stays
                // unused until the master's objects go, which they never do.
                Ok(()) | Err(sel4::Error::DeleteFirst) => {}
                Err(err) => return Err(err.into()),
            }
        }
    }
    Ok(())
}
