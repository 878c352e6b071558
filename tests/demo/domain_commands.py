"""The demo domain's commands for the live == rebuilt property test (see tests/events_app/domain_commands.py)."""

from hypothesis import strategies as st

from tests.demo import services
from tests.demo.services import DemoError
from tests.events_app.domain_commands import command

counters = st.sampled_from(["a", "b"])
names = st.text(max_size=8)

command(services.counter_open, counter_id=counters, name=names, weight=2)
command(services.counter_increment, counter_id=counters, by=st.integers(-3, 3), raises=(DemoError,), weight=3)
# A version read a while ago: usually stale by now, so the append meets a version conflict.
command(
    services.counter_increment,
    counter_id=counters,
    by=st.integers(-3, 3),
    expected_version=st.integers(0, 6),
    raises=(DemoError,),
)
command(services.counter_rename, counter_id=counters, name=names, raises=(DemoError,))
command(
    services.counter_label,
    counter_id=counters,
    labels=st.dictionaries(st.sampled_from("xyz"), st.integers(0, 3) | st.text(max_size=3), max_size=2),
    raises=(DemoError,),
)
command(services.counter_close, counter_id=counters, raises=(DemoError,))
