"""The demo's reply templates (macros), in Chinese and English, as a service desk would keep
them: (name, English name, used for, department code or None for everyone, text, English)."""

TEMPLATES = [
    (
        "受理确认",
        "Acknowledgement",
        "contact",
        None,
        "{customer_name}您好，我是{department}的{agent_name}。您的投诉（编号 {reference}，"
        "“{subject}”）我们已经受理，将在 {due_date} 前给您答复。如有补充材料，请直接回复本消息。",
        "Hello {customer_name}, this is {agent_name} from {department}. We have registered your "
        "complaint {reference} (“{subject}”) and will come back to you by {due_date}. If you "
        "have anything to add, simply reply to this message.",
    ),
    (
        "请求补充材料",
        "Request for documents",
        "contact",
        None,
        "{customer_name}您好，为尽快处理您的投诉 {reference}，请您提供相关照片、订单号或票据。"
        "收到材料后我们会立即继续处理。",
        "Hello {customer_name}, to move your complaint {reference} forward we need photos, the "
        "order number or receipts. As soon as we have them we continue at once.",
    ),
    (
        "处理进展通知",
        "Progress update",
        "contact",
        None,
        "{customer_name}您好，关于“{subject}”（{reference}），{department}正在处理中，"
        "预计 {due_date} 前完成。给您带来不便，深表歉意。",
        "Hello {customer_name}, {department} is working on “{subject}” ({reference}) and "
        "expects to finish by {due_date}. We apologise for the inconvenience.",
    ),
    (
        "上门维修预约",
        "Repair visit booked",
        "contact",
        "property",
        "{customer_name}您好，物业维修人员将上门处理“{subject}”。如时间不便，请致电物业服务中心改约。"
        "——{agent_name}",
        "Hello {customer_name}, our maintenance staff will come to fix “{subject}”. If the time "
        "does not suit you, please call the property service centre. — {agent_name}",
    ),
    (
        "退款处理说明",
        "Refund explanation",
        "contact",
        "billing",
        "{customer_name}您好，您在投诉 {reference} 中提出的退款已提交财务审核，"
        "一般 3 至 5 个工作日到账。",
        "Hello {customer_name}, the refund you asked for in complaint {reference} has gone to "
        "finance for approval; it usually arrives within 3 to 5 working days.",
    ),
    (
        "内部：已电话联系未接通",
        "Internal: called, no answer",
        "note",
        None,
        "{agent_name} 致电客户未接通，已发送短信，将于次日再次联系。",
        "{agent_name} called the customer, no answer; sent a text message, will call again "
        "tomorrow.",
    ),
    (
        "内部：需其他部门协助",
        "Internal: needs another department",
        "note",
        None,
        "{reference} 需要其他部门协助核实，已由 {department} 发起协办，"
        "请协办部门在 {due_date} 前反馈。",
        "{reference} needs another department to check the facts; {department} asked for help, "
        "please answer before {due_date}.",
    ),
]
