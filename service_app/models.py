"""Every model, imported once so Alembic and the app see the whole schema."""

from service_app.attachments.models import Attachment  # noqa: F401
from service_app.auth.models import AuthSession, Device, SmsCode, User  # noqa: F401
from service_app.common.models import IdempotencyKey  # noqa: F401
from service_app.enterprises.models import EnterpriseChange, EnterpriseIndicator  # noqa: F401
from service_app.notifications.models import Delivery, JobWatermark, Notification, ProblemMark  # noqa: F401
from service_app.open311.models import ApiClient  # noqa: F401
from service_app.org.models import CadreLink, Category, Chain, Department, Enterprise, Park  # noqa: F401
from service_app.problems.codes import ProblemCodeCounter  # noqa: F401
from service_app.problems.models import Problem, ProblemEvent, Rating  # noqa: F401
from service_app.scheduling.models import JobLock, JobRun  # noqa: F401
from service_app.stats.models import StatCommonProblem, StatFigure, StatTrendPoint  # noqa: F401
from service_app.visits.models import Visit  # noqa: F401
from service_app.workdays.models import CalendarDay, CalendarRevision  # noqa: F401
